package dev.skyport.core.internal;

import dev.skyport.api.EmbeddedConfig;
import dev.skyport.api.SkyPortException;
import dev.skyport.core.store.JobStore;
import dev.skyport.core.store.JobStoreProvider;
import dev.skyport.gate.Gate;
import dev.skyport.gate.GateConfig;
import dev.skyport.gate.GateProvider;
import dev.skyport.scheduler.Scheduler;
import dev.skyport.scheduler.SchedulerProvider;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.ServiceLoader;

/** Finds the store, gate and scheduler an engine is configured with among the providers on the class path. */
final class Providers {
    private Providers() {
    }

    static JobStore openStore(Path dataDir) {
        for (JobStoreProvider p : ServiceLoader.load(JobStoreProvider.class)) {
            if (p.name().equals("sqlite")) {
                return p.open(dataDir);
            }
        }
        throw new SkyPortException("no sqlite job store on the class path");
    }

    static Gate openGate(EmbeddedConfig config, Path dataDir, EngineMeters meters) {
        Map<String, String> options = new LinkedHashMap<>(config.gateOptions());
        config.localCpus().ifPresent(c -> options.putIfAbsent("cpus", Integer.toString(c)));
        config.localMemoryBytes().ifPresent(m -> options.putIfAbsent("memoryBytes", Long.toString(m)));
        return open(config.gate(), options, config, dataDir, meters);
    }

    /**
     * The gate the engine sees: the main gate and, when the config names one, the cloud gate that creates partitions
     * (opened with its own options and work directory {@code gates/<name>}).
     */
    static EngineGate openGates(EmbeddedConfig config, Path dataDir, EngineMeters meters) {
        Gate main = openGate(config, dataDir, meters);
        try {
            Optional<Gate> cloud = config.cloudGate().map(name -> open(name, config.cloudGateOptions(), config,
                    dataDir, meters));
            if (cloud.isPresent() && !cloud.get().createsPartitions()) {
                String name = cloud.get().name();
                cloud.get().close();
                throw new SkyPortException("the cloud gate '" + name + "' creates no partitions");
            }
            return new EngineGate(main, cloud, config.clock());
        } catch (RuntimeException e) {
            main.close();
            throw e;
        }
    }

    /**
     * The gates of the configured batch sites, by site name, each opened with its options (those the engine reads
     * itself taken out) and work directory {@code gates/<gate>/<site>}.
     *
     * @throws SkyPortException naming the site whose gate is unknown or has no batch queue; nothing stays open then
     */
    static Map<String, Gate> openBatchSites(EmbeddedConfig config, Path dataDir, EngineMeters meters) {
        Map<String, Gate> opened = new LinkedHashMap<>();
        try {
            for (dev.skyport.api.BatchSite site : config.batchSites()) {
                Gate gate;
                try {
                    gate = openIn(site.gate(), BatchOptions.gateOptions(site), config,
                            dataDir.resolve("gates").resolve(site.gate()).resolve(site.name()), meters);
                } catch (RuntimeException e) {
                    throw new SkyPortException("batch site '" + site.name() + "': " + e.getMessage(), e);
                }
                opened.put(site.name(), gate);
                if (gate.batchQueue().isEmpty()) {
                    throw new SkyPortException("batch site '" + site.name() + "': the gate '" + site.gate()
                            + "' has no batch queue; a batch site needs a gate whose own scheduler runs jobs, such as"
                            + " slurm");
                }
            }
            return opened;
        } catch (RuntimeException e) {
            opened.values().forEach(g -> {
                try {
                    g.close();
                } catch (RuntimeException ignored) {
                    // the start fails with the first error
                }
            });
            throw e;
        }
    }

    private static Gate open(String name, Map<String, String> options, EmbeddedConfig config, Path dataDir,
                             EngineMeters meters) {
        return openIn(name, options, config, dataDir.resolve("gates").resolve(name), meters);
    }

    private static Gate openIn(String name, Map<String, String> options, EmbeddedConfig config, Path gateDir,
                               EngineMeters meters) {
        List<String> names = new ArrayList<>();
        for (GateProvider p : ServiceLoader.load(GateProvider.class)) {
            names.add(p.name());
            if (p.name().equals(name)) {
                try {
                    Files.createDirectories(gateDir);
                } catch (IOException e) {
                    throw new SkyPortException("cannot create " + gateDir + ": " + e.getMessage(), e);
                }
                return meters.gate(p.create(new GateConfig(gateDir, options, config.clock())));
            }
        }
        throw new SkyPortException("no gate named '" + name + "'; available: " + names);
    }

    static Scheduler openScheduler(String name) {
        List<String> names = new ArrayList<>();
        for (SchedulerProvider p : ServiceLoader.load(SchedulerProvider.class)) {
            names.add(p.name());
            if (p.name().equals(name)) {
                return p.create();
            }
        }
        throw new SkyPortException("no scheduler named '" + name + "'; available: " + names);
    }
}

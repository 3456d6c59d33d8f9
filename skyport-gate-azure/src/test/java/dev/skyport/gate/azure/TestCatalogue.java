package dev.skyport.gate.azure;

import java.util.List;
import java.util.Optional;

/** A fixed catalogue for the tests: what the real one builds from resource SKUs, Retail Prices and configuration. */
record TestCatalogue(List<VmSize> sizes, List<ImageRef> images) implements Catalogue {
    static final VmSize SMALL = new VmSize("Standard_D2s_v3", 2, 8L << 30, 16L << 30, 0, 0.096, "USD");
    static final VmSize LARGE = new VmSize("Standard_D8s_v3", 8, 32L << 30, 64L << 30, 0, 0.384, "USD");
    static final VmSize GPU = new VmSize("Standard_NC6s_v3", 6, 112L << 30, 736L << 30, 1, 3.06, "USD");
    static final ImageRef HPC = new ImageRef("microsoft-dsvm", "ubuntu-hpc", "2204", "latest");
    static final ImageRef JAMMY = new ImageRef("Canonical", "0001-com-ubuntu-server-jammy", "22_04-lts", "latest");

    static TestCatalogue standard() {
        return new TestCatalogue(List.of(SMALL, LARGE, GPU), List.of(HPC, JAMMY));
    }

    @Override
    public Optional<VmSize> size(String name) {
        return sizes.stream().filter(s -> s.name().equals(name)).findFirst();
    }

    @Override
    public Optional<ImageRef> image(String name) {
        return images.stream().filter(i -> i.name().equals(name)).findFirst();
    }

    @Override
    public ImageRef defaultImage() {
        return images.get(0);
    }
}

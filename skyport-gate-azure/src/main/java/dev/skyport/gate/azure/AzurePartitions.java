package dev.skyport.gate.azure;

import com.azure.core.util.Context;
import com.azure.core.management.polling.PollResult;
import com.azure.core.util.polling.LongRunningOperationStatus;
import com.azure.core.util.polling.PollResponse;
import com.azure.core.util.polling.SyncPoller;
import com.azure.resourcemanager.AzureResourceManager;
import com.azure.resourcemanager.compute.fluent.VirtualMachinesClient;
import com.azure.resourcemanager.compute.fluent.models.VirtualMachineInner;
import com.azure.resourcemanager.compute.models.DeleteOptions;
import com.azure.resourcemanager.compute.models.DiskCreateOptionTypes;
import com.azure.resourcemanager.compute.models.DiskDeleteOptionTypes;
import com.azure.resourcemanager.compute.models.HardwareProfile;
import com.azure.resourcemanager.compute.models.ImageReference;
import com.azure.resourcemanager.compute.models.LinuxConfiguration;
import com.azure.resourcemanager.compute.models.ManagedDiskParameters;
import com.azure.resourcemanager.compute.models.NetworkInterfaceReference;
import com.azure.resourcemanager.compute.models.NetworkProfile;
import com.azure.resourcemanager.compute.models.OSDisk;
import com.azure.resourcemanager.compute.models.OSProfile;
import com.azure.resourcemanager.compute.models.SshConfiguration;
import com.azure.resourcemanager.compute.models.SshPublicKey;
import com.azure.resourcemanager.compute.models.StorageAccountTypes;
import com.azure.resourcemanager.compute.models.StorageProfile;
import com.azure.resourcemanager.compute.models.VirtualMachineSizeTypes;
import com.azure.resourcemanager.network.fluent.NetworkManagementClient;
import com.azure.resourcemanager.network.fluent.models.NetworkInterfaceInner;
import com.azure.resourcemanager.network.fluent.models.NetworkInterfaceIpConfigurationInner;
import com.azure.resourcemanager.network.fluent.models.NetworkSecurityGroupInner;
import com.azure.resourcemanager.network.fluent.models.PublicIpAddressInner;
import com.azure.resourcemanager.network.fluent.models.SecurityRuleInner;
import com.azure.resourcemanager.network.fluent.models.SubnetInner;
import com.azure.resourcemanager.network.fluent.models.VirtualNetworkInner;
import com.azure.resourcemanager.network.models.AddressSpace;
import com.azure.resourcemanager.network.models.IpAllocationMethod;
import com.azure.resourcemanager.network.models.IpVersion;
import com.azure.resourcemanager.network.models.PublicIpAddressSku;
import com.azure.resourcemanager.network.models.PublicIpAddressSkuName;
import com.azure.resourcemanager.network.models.PublicIpAddressSkuTier;
import com.azure.resourcemanager.network.models.SecurityRuleAccess;
import com.azure.resourcemanager.network.models.SecurityRuleDirection;
import com.azure.resourcemanager.network.models.SecurityRuleProtocol;
import com.azure.resourcemanager.resources.fluent.ResourceGroupsClient;
import com.azure.resourcemanager.resources.fluent.models.ResourceGroupInner;
import dev.skyport.api.EndReason;
import dev.skyport.api.PortSpec;
import dev.skyport.gate.GateException;
import dev.skyport.gate.PartitionHandle;
import dev.skyport.gate.PartitionNode;
import dev.skyport.gate.PartitionSpec;
import dev.skyport.gate.PartitionState;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Partitions of N VMs in one resource group each (spec cloud-gate.md 3.2, 3.3): NSG, VNet and subnet, a Standard
 * static public IP for the head, one NIC and one VM per node. Every step is a PUT of a fixed name through the SDK's
 * inner clients (one call, one REST request), so a repeated create converges on the same resources; a failure after
 * anything was created deletes the group before it is reported, so nothing is left billing.
 */
final class AzurePartitions {
    static final String TAG_NODES = "skyport-nodes";
    static final String TAG_ROLE = "skyport-role";
    static final String TAG_INDEX = "skyport-index";
    static final String GROUP_SUFFIX = "-resource-group";
    static final String SUBNET = "default";

    private static final Logger LOG = LoggerFactory.getLogger(AzurePartitions.class);
    // Azure's group names allow 90 characters; the longest VM name (<name>-node<i>) must stay within Linux's 64
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][-A-Za-z0-9_]{0,47}");
    private static final int FIRST_RULE_PRIORITY = 100;

    private final String gate;
    private final String subscription;
    private final Catalogue catalogue;
    private final PartitionSettings settings;
    private final ResourceGroupsClient groups;
    private final NetworkManagementClient network;
    private final VirtualMachinesClient vms;
    private final RsaKeyPool keyPool;

    AzurePartitions(String gate, AzureResourceManager azure, Catalogue catalogue, PartitionSettings settings) {
        this(gate, azure, catalogue, settings, new RsaKeyPool(gate, 0));
    }

    AzurePartitions(String gate, AzureResourceManager azure, Catalogue catalogue, PartitionSettings settings,
                    RsaKeyPool keyPool) {
        this.keyPool = keyPool;
        this.gate = gate;
        this.subscription = azure.subscriptionId();
        this.catalogue = catalogue;
        this.settings = settings;
        this.groups = azure.resourceGroups().manager().serviceClient().getResourceGroups();
        this.network = azure.networks().manager().serviceClient();
        this.vms = azure.virtualMachines().manager().serviceClient().getVirtualMachines();
    }

    static String group(String partition) {
        return partition + GROUP_SUFFIX;
    }

    static String head(String partition) {
        return partition + "-main";
    }

    static String compute(String partition, int i) {
        return partition + "-node" + i;
    }

    static List<String> vmNames(String partition, int nodes) {
        List<String> out = new ArrayList<>();
        out.add(head(partition));
        for (int i = 0; i < nodes - 1; i++) {
            out.add(compute(partition, i));
        }
        return out;
    }

    PartitionHandle create(PartitionSpec spec) {
        String name = checkName(spec.name());
        VmSize size = size(spec);
        ImageRef image = image(spec);
        checkInterrupted(name);
        List<String> vmNames = vmNames(name, spec.nodeCount());
        PartitionKeys keys = PartitionKeys.loadOrCreate(settings.workDir(), name, vmNames, settings.clock().instant(),
                keyPool);
        checkCustomDataFits(name, keys, vmNames);
        Map<String, String> tags = new TreeMap<>(spec.tags());
        tags.putIfAbsent(PartitionSpec.TAG_PARTITION, name);
        tags.putIfAbsent(PartitionSpec.TAG_CREATED, keys.created().toString());
        tags.put(TAG_NODES, Integer.toString(spec.nodeCount()));
        String rg = group(name);
        boolean touched = false;
        try {
            checkInterrupted(name);
            touched = true;
            createGroup(rg, tags);
            checkInterrupted(name);
            NetworkSecurityGroupInner nsg = wait("partition " + name + ": create the network security group",
                    network.getNetworkSecurityGroups().beginCreateOrUpdate(rg, name + "-nsg", nsg(name, spec, tags)));
            checkInterrupted(name);
            // the public IP does not depend on the network: both run in Azure at once
            SyncPoller<PollResult<PublicIpAddressInner>, PublicIpAddressInner> pipPoller = network.getPublicIpAddresses()
                    .beginCreateOrUpdate(rg, name + "-pip", publicIp(tags));
            SyncPoller<PollResult<VirtualNetworkInner>, VirtualNetworkInner> vnetPoller = network.getVirtualNetworks()
                    .beginCreateOrUpdate(rg, name + "-vnet", vnet(nsg, tags));
            PublicIpAddressInner pip = wait("partition " + name + ": create the head's public IP", pipPoller);
            wait("partition " + name + ": create the virtual network", vnetPoller);
            checkInterrupted(name);
            String subnetId = id(rg, "Microsoft.Network/virtualNetworks", name + "-vnet") + "/subnets/" + SUBNET;
            Map<String, SyncPoller<PollResult<NetworkInterfaceInner>, NetworkInterfaceInner>> nicPollers = new LinkedHashMap<>();
            for (String vm : vmNames) {
                nicPollers.put(vm, network.getNetworkInterfaces().beginCreateOrUpdate(rg, vm + "-nic",
                        nic(subnetId, vm.equals(head(name)) ? Optional.of(pip.id()) : Optional.empty(), tags)));
            }
            Map<String, String> privateIps = new LinkedHashMap<>();
            for (var e : nicPollers.entrySet()) {
                NetworkInterfaceInner nic = wait("partition " + name + ": create the network interface of "
                        + e.getKey(), e.getValue());
                // the head pins each compute node by this address: without it there is nothing to pin
                privateIps.put(e.getKey(), privateIp(nic).orElseThrow(() -> GateException.transientFailure(
                        "partition " + name + ": the network interface of " + e.getKey() + " has no private IP",
                        null, Optional.empty(), EndReason.PARTITION_FAILED)));
            }
            checkInterrupted(name);
            Map<String, SyncPoller<PollResult<VirtualMachineInner>, VirtualMachineInner>> vmPollers = new LinkedHashMap<>();
            for (int i = 0; i < vmNames.size(); i++) {
                String vm = vmNames.get(i);
                String customData = customData(name, keys, vm, vmNames, privateIps);
                vmPollers.put(vm, vms.beginCreateOrUpdate(rg, vm, vm(rg, vm, i, size, image, keys, customData, tags)));
            }
            for (var e : vmPollers.entrySet()) {
                wait("partition " + name + ": create the VM " + e.getKey(), e.getValue());
            }
            checkInterrupted(name);
            PartitionHandle handle = inspect(readGroup(rg).orElseThrow(() -> GateException.transientFailure(
                    "partition " + name + ": its resource group vanished while it was created", null,
                    Optional.empty())));
            if (handle.state() != PartitionState.READY) {
                throw GateException.transientFailure("partition " + name + " is " + handle.state()
                        + " after its resources were created" + handle.failure().map(f -> ": " + f).orElse(""),
                        null, Optional.empty(), EndReason.PARTITION_FAILED);
            }
            LOG.info("partition {}: {} VM(s) of {} ready in {}", name, vmNames.size(), size.name(), settings.region());
            return handle;
        } catch (RuntimeException e) {
            GateException failure = e instanceof GateException g ? g
                    : AzureErrors.classify("partition " + name, e);
            if (touched && !Thread.currentThread().isInterrupted()) {
                rollBack(name, failure);
            }
            throw failure;
        }
    }

    void delete(String partition) {
        String name = checkName(partition);
        String rg = group(name);
        try {
            groups.beginDelete(rg).getFinalResult();
            LOG.info("partition {}: resource group {} deleted", name, rg);
        } catch (RuntimeException e) {
            if (!AzureErrors.isNotFound(e)) {
                throw AzureErrors.classify("delete partition " + name, e);
            }
        }
        try {
            PartitionKeys.delete(settings.workDir(), name);
        } catch (RuntimeException e) {
            LOG.warn("partition {}: deleted, but its key directory stays: {}", name, e.getMessage());
        }
    }

    List<PartitionHandle> list() {
        List<PartitionHandle> out = new ArrayList<>();
        try {
            for (ResourceGroupInner g : groups.list("tagName eq '" + PartitionSpec.TAG_PARTITION + "'", null,
                    Context.NONE)) {
                String partition = tags(g).get(PartitionSpec.TAG_PARTITION);
                if (partition == null || !g.name().equalsIgnoreCase(group(partition))) {
                    continue; // tagged by hand or by another tool: not a partition of this layout
                }
                try {
                    out.add(inspect(g));
                } catch (RuntimeException e) {
                    if (!AzureErrors.isNotFound(e)) {
                        throw e;
                    }
                    // Deleted between the listing of the groups and that of its resources: it is gone, not an error.
                    LOG.debug("partition {}: its group went while it was listed", partition);
                }
            }
        } catch (GateException e) {
            throw e;
        } catch (RuntimeException e) {
            throw AzureErrors.classify("list partitions", e);
        }
        return out;
    }

    /**
     * What one group holds, as a handle: DELETING while Azure deletes the group, FAILED when a resource failed, READY
     * only when every VM has succeeded and every address is known, else CREATING.
     */
    private PartitionHandle inspect(ResourceGroupInner g) {
        Map<String, String> tags = tags(g);
        String name = tags.getOrDefault(PartitionSpec.TAG_PARTITION,
                g.name().substring(0, g.name().length() - GROUP_SUFFIX.length()));
        Instant created = created(tags);
        Optional<PartitionKeys> keys = PartitionKeys.load(settings.workDir(), name);
        if ("deleting".equalsIgnoreCase(g.properties() == null ? null : g.properties().provisioningState())) {
            return handle(name, PartitionState.DELETING, List.of(), keys, tags, created, Optional.empty());
        }
        String rg = g.name();
        List<VirtualMachineInner> machines = new ArrayList<>();
        vms.listByResourceGroup(rg).forEach(machines::add);
        Map<String, NetworkInterfaceInner> nics = new HashMap<>();
        network.getNetworkInterfaces().listByResourceGroup(rg).forEach(n -> nics.put(n.name(), n));
        Map<String, PublicIpAddressInner> pips = new HashMap<>();
        network.getPublicIpAddresses().listByResourceGroup(rg).forEach(p -> pips.put(p.name(), p));

        List<String> states = new ArrayList<>();
        machines.forEach(m -> states.add(m.provisioningState()));
        nics.values().forEach(n -> states.add(n.provisioningState() == null ? null : n.provisioningState().toString()));
        pips.values().forEach(p -> states.add(p.provisioningState() == null ? null : p.provisioningState().toString()));
        if (states.stream().anyMatch("failed"::equalsIgnoreCase)) {
            return handle(name, PartitionState.FAILED, List.of(), keys, tags, created,
                    Optional.of("a resource of " + rg + " failed to provision"));
        }
        if (states.stream().anyMatch("deleting"::equalsIgnoreCase)) {
            return handle(name, PartitionState.DELETING, List.of(), keys, tags, created, Optional.empty());
        }
        int expected = nodes(tags);
        List<String> names = vmNames(name, expected);
        Map<String, VirtualMachineInner> byName = machines.stream()
                .collect(Collectors.toMap(VirtualMachineInner::name, m -> m, (a, b) -> a));
        PublicIpAddressInner pip = pips.get(name + "-pip");
        boolean complete = expected > 0 && names.stream().allMatch(n -> byName.containsKey(n)
                && "succeeded".equalsIgnoreCase(byName.get(n).provisioningState())
                && nics.containsKey(n + "-nic") && privateIp(nics.get(n + "-nic")).isPresent())
                && pip != null && pip.ipAddress() != null && !pip.ipAddress().isBlank();
        if (!complete) {
            return handle(name, PartitionState.CREATING, List.of(), keys, tags, created, Optional.empty());
        }
        if (keys.isEmpty()) {
            return handle(name, PartitionState.FAILED, List.of(), keys, tags, created, Optional.of(
                    "the partition's keys are not in this gate's work directory " + settings.workDir()));
        }
        List<PartitionNode> nodes = new ArrayList<>();
        for (String vm : names) {
            VirtualMachineInner m = byName.get(vm);
            String flavor = m.hardwareProfile() == null || m.hardwareProfile().vmSize() == null ? ""
                    : m.hardwareProfile().vmSize().toString();
            Optional<VmSize> size = catalogue.size(flavor);
            Optional<PartitionKeys.HostKeys> host = keys.get().host(vm);
            if (size.isEmpty() || host.isEmpty()) {
                return handle(name, PartitionState.FAILED, List.of(), keys, tags, created, Optional.of(size.isEmpty()
                        ? "VM " + vm + " is of size '" + flavor + "', which the gate no longer offers"
                        : "the host keys of VM " + vm + " are not in this gate's work directory"));
            }
            boolean isHead = vm.equals(head(name));
            String host0 = isHead ? pip.ipAddress() : privateIp(nics.get(vm + "-nic")).orElseThrow();
            nodes.add(new PartitionNode(vm, isHead ? "head" : "compute", host0, settings.sshPort(),
                    host.get().fingerprints(), Math.max(1, size.get().cpus()), size.get().memoryBytes(),
                    size.get().gpus()));
        }
        return handle(name, PartitionState.READY, nodes, keys, tags, created, Optional.empty());
    }

    private PartitionHandle handle(String name, PartitionState state, List<PartitionNode> nodes,
                                   Optional<PartitionKeys> keys, Map<String, String> tags, Instant created,
                                   Optional<String> failure) {
        return new PartitionHandle(name, gate, state, nodes, settings.adminUser(),
                keys.map(PartitionKeys::privateKey), tags, created, failure);
    }

    private void createGroup(String rg, Map<String, String> tags) {
        try {
            groups.createOrUpdate(rg, new ResourceGroupInner().withLocation(settings.region()).withTags(tags));
        } catch (RuntimeException e) {
            throw AzureErrors.classify("create resource group " + rg, e);
        }
    }

    private Optional<ResourceGroupInner> readGroup(String rg) {
        try {
            return Optional.of(groups.get(rg));
        } catch (RuntimeException e) {
            if (AzureErrors.isNotFound(e)) {
                return Optional.empty();
            }
            throw AzureErrors.classify("read resource group " + rg, e);
        }
    }

    private void rollBack(String name, GateException cause) {
        LOG.warn("partition {}: creation failed ({}); deleting what was created", name, cause.getMessage());
        try {
            delete(name);
        } catch (RuntimeException e) {
            // the engine deletes a failed partition too, and deletion is idempotent: it will finish this one
            LOG.warn("partition {}: could not delete it after the failure: {}", name, e.getMessage());
        }
    }

    private NetworkSecurityGroupInner nsg(String name, PartitionSpec spec, Map<String, String> tags) {
        Set<String> openings = new LinkedHashSet<>();
        openings.add(settings.sshPort() + "/tcp");
        for (PortSpec p : spec.ports()) {
            // an out port is tunnelled over SSH from the node to the submitter: nothing needs to reach it from outside
            if (p.direction() == PortSpec.Direction.IN) {
                openings.add(p.port() + "/" + p.protocol());
            }
        }
        List<SecurityRuleInner> rules = new ArrayList<>();
        int priority = FIRST_RULE_PRIORITY;
        for (String opening : openings) {
            String[] portAndProtocol = opening.split("/");
            rules.add(new SecurityRuleInner()
                    .withName(priority == FIRST_RULE_PRIORITY ? "skyport-ssh"
                            : "skyport-port-" + portAndProtocol[0] + "-" + portAndProtocol[1])
                    .withPriority(priority++)
                    .withDirection(SecurityRuleDirection.INBOUND)
                    .withAccess(SecurityRuleAccess.ALLOW)
                    .withProtocol(portAndProtocol[1].equals("udp") ? SecurityRuleProtocol.UDP : SecurityRuleProtocol.TCP)
                    .withSourceAddressPrefixes(settings.sshSources())
                    .withSourcePortRange("*")
                    .withDestinationAddressPrefix("*")
                    .withDestinationPortRange(portAndProtocol[0]));
        }
        return new NetworkSecurityGroupInner().withLocation(settings.region()).withTags(tags)
                .withSecurityRules(rules);
    }

    private VirtualNetworkInner vnet(NetworkSecurityGroupInner nsg, Map<String, String> tags) {
        return new VirtualNetworkInner().withLocation(settings.region()).withTags(tags)
                .withAddressSpace(new AddressSpace().withAddressPrefixes(List.of("10.0.0.0/16")))
                .withSubnets(List.of(new SubnetInner().withName(SUBNET).withAddressPrefix("10.0.0.0/24")
                        .withNetworkSecurityGroup(new NetworkSecurityGroupInner().withId(nsg.id()))
                        // compute nodes have no public IP but need packages and images; newer network
                        // api-versions make new subnets private by default, so say what is meant
                        .withDefaultOutboundAccess(true)));
    }

    private PublicIpAddressInner publicIp(Map<String, String> tags) {
        return new PublicIpAddressInner().withLocation(settings.region()).withTags(tags)
                .withSku(new PublicIpAddressSku().withName(PublicIpAddressSkuName.STANDARD)
                        .withTier(PublicIpAddressSkuTier.REGIONAL))
                .withPublicIpAllocationMethod(IpAllocationMethod.STATIC)
                .withPublicIpAddressVersion(IpVersion.IPV4);
    }

    private NetworkInterfaceInner nic(String subnetId, Optional<String> publicIpId, Map<String, String> tags) {
        NetworkInterfaceIpConfigurationInner ip = new NetworkInterfaceIpConfigurationInner().withName("ipconfig1")
                .withPrimary(true)
                .withSubnet(new SubnetInner().withId(subnetId))
                .withPrivateIpAllocationMethod(IpAllocationMethod.DYNAMIC);
        publicIpId.ifPresent(id -> ip.withPublicIpAddress(new PublicIpAddressInner().withId(id)));
        return new NetworkInterfaceInner().withLocation(settings.region()).withTags(tags)
                .withIpConfigurations(List.of(ip));
    }

    private VirtualMachineInner vm(String rg, String vm, int index, VmSize size, ImageRef image, PartitionKeys keys,
                                   String customData, Map<String, String> groupTags) {
        Map<String, String> tags = new TreeMap<>(groupTags);
        tags.put(TAG_ROLE, index == 0 ? "head" : "compute");
        tags.put(TAG_INDEX, Integer.toString(index));
        return new VirtualMachineInner().withLocation(settings.region()).withTags(tags)
                .withHardwareProfile(new HardwareProfile().withVmSize(VirtualMachineSizeTypes.fromString(size.name())))
                .withStorageProfile(new StorageProfile()
                        .withImageReference(new ImageReference().withPublisher(image.publisher())
                                .withOffer(image.offer()).withSku(image.sku()).withVersion(image.version()))
                        .withOsDisk(new OSDisk().withCreateOption(DiskCreateOptionTypes.FROM_IMAGE)
                                .withManagedDisk(new ManagedDiskParameters()
                                        .withStorageAccountType(StorageAccountTypes.STANDARD_SSD_LRS))
                                .withDeleteOption(DiskDeleteOptionTypes.DELETE)))
                .withOsProfile(new OSProfile().withComputerName(vm).withAdminUsername(settings.adminUser())
                        .withCustomData(customData)
                        .withLinuxConfiguration(new LinuxConfiguration().withDisablePasswordAuthentication(true)
                                .withSsh(new SshConfiguration().withPublicKeys(List.of(new SshPublicKey()
                                        .withPath("/home/" + settings.adminUser() + "/.ssh/authorized_keys")
                                        .withKeyData(keys.publicKey()))))))
                .withNetworkProfile(new NetworkProfile().withNetworkInterfaces(List.of(
                        (NetworkInterfaceReference) new NetworkInterfaceReference().withPrimary(true)
                                .withDeleteOption(DeleteOptions.DELETE)
                                .withId(id(rg, "Microsoft.Network/networkInterfaces", vm + "-nic")))));
    }

    private String customData(String name, PartitionKeys keys, String vm, List<String> vmNames,
                              Map<String, String> privateIps) {
        PartitionKeys.HostKeys own = keys.host(vm).orElseThrow();
        List<CloudInit.KnownHost> known = new ArrayList<>();
        if (vm.equals(head(name))) {
            for (String other : vmNames) {
                if (!other.equals(vm)) {
                    known.add(new CloudInit.KnownHost(List.of(privateIps.get(other), other),
                            keys.host(other).orElseThrow().ed25519Public()));
                }
            }
        }
        return CloudInit.base64(CloudInit.render(own, known));
    }

    /** Refuses, before anything exists, a partition whose head's custom data would pass Azure's limit. */
    private void checkCustomDataFits(String name, PartitionKeys keys, List<String> vmNames) {
        Map<String, String> widest = new HashMap<>();
        vmNames.forEach(vm -> widest.put(vm, "255.255.255.255"));
        int bytes = CloudInit.size(CloudInit.render(keys.host(head(name)).orElseThrow(),
                vmNames.stream().skip(1).map(vm -> new CloudInit.KnownHost(List.of(widest.get(vm), vm),
                        keys.host(vm).orElseThrow().ed25519Public())).toList()));
        if (bytes > CloudInit.MAX_BYTES) {
            throw GateException.permanent("partition " + name + ": " + vmNames.size()
                    + " nodes make the head's custom data " + bytes + " bytes, over Azure's " + CloudInit.MAX_BYTES,
                    EndReason.PARTITION_FAILED);
        }
    }

    private VmSize size(PartitionSpec spec) {
        if (spec.flavor().isEmpty()) {
            throw GateException.permanent("partition " + spec.name() + ": the Azure gate needs a flavor (VM size); "
                    + "offered: " + sizeNames());
        }
        return catalogue.size(spec.flavor().get()).orElseThrow(() -> GateException.permanent("partition "
                + spec.name() + ": unknown flavor '" + spec.flavor().get() + "'; offered: " + sizeNames()));
    }

    private ImageRef image(PartitionSpec spec) {
        if (spec.cloudImage().isEmpty()) {
            return catalogue.defaultImage();
        }
        return catalogue.image(spec.cloudImage().get()).orElseThrow(() -> GateException.permanent("partition "
                + spec.name() + ": unknown cloud image '" + spec.cloudImage().get() + "'; offered: "
                + catalogue.images().stream().map(ImageRef::name).sorted().collect(Collectors.joining(", "))));
    }

    private String sizeNames() {
        return catalogue.sizes().stream().map(VmSize::name).sorted().collect(Collectors.joining(", "));
    }

    static String checkName(String name) {
        if (!NAME.matcher(name).matches()) {
            throw GateException.permanent("partition name '" + name + "' must be 1 to 48 letters, digits, '-' or '_'"
                    + " and start with a letter or digit");
        }
        return name;
    }

    private static void checkInterrupted(String name) {
        if (Thread.currentThread().isInterrupted()) {
            throw GateException.transientFailure("partition " + name + ": interrupted", null, Optional.empty());
        }
    }

    private static <T> T wait(String doing, SyncPoller<PollResult<T>, T> poller) {
        try {
            PollResponse<PollResult<T>> last = poller.waitForCompletion();
            if (last.getStatus() == LongRunningOperationStatus.FAILED
                    || last.getStatus() == LongRunningOperationStatus.USER_CANCELLED) {
                throw AzureErrors.failedOperation(doing, last.getValue() == null ? null : last.getValue().getError());
            }
            return poller.getFinalResult();
        } catch (GateException e) {
            throw e;
        } catch (RuntimeException e) {
            throw AzureErrors.classify(doing, e);
        }
    }

    private String id(String rg, String type, String name) {
        return "/subscriptions/" + subscription + "/resourceGroups/" + rg + "/providers/" + type + "/" + name;
    }

    private static Optional<String> privateIp(NetworkInterfaceInner nic) {
        if (nic == null || nic.ipConfigurations() == null || nic.ipConfigurations().isEmpty()) {
            return Optional.empty();
        }
        String ip = nic.ipConfigurations().get(0).privateIpAddress();
        return ip == null || ip.isBlank() ? Optional.empty() : Optional.of(ip);
    }

    private static Map<String, String> tags(ResourceGroupInner g) {
        return g.tags() == null ? Map.of() : g.tags();
    }

    private static int nodes(Map<String, String> tags) {
        try {
            return Integer.parseInt(tags.getOrDefault(TAG_NODES, "0"));
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    private Instant created(Map<String, String> tags) {
        try {
            return Instant.parse(tags.getOrDefault(PartitionSpec.TAG_CREATED, ""));
        } catch (DateTimeParseException e) {
            return settings.clock().instant();
        }
    }
}

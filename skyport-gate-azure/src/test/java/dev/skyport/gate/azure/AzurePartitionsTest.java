package dev.skyport.gate.azure;

import com.azure.core.http.policy.RetryPolicy;
import com.azure.resourcemanager.AzureResourceManager;
import com.fasterxml.jackson.databind.JsonNode;
import dev.skyport.api.EndReason;
import dev.skyport.api.PortSpec;
import dev.skyport.gate.GateException;
import dev.skyport.gate.PartitionHandle;
import dev.skyport.gate.PartitionNode;
import dev.skyport.gate.PartitionSpec;
import dev.skyport.gate.PartitionState;
import net.schmizz.sshj.common.Buffer;
import com.hierynomus.sshj.userauth.keyprovider.OpenSSHKeyV1KeyFile;
import net.schmizz.sshj.userauth.keyprovider.PKCS8KeyFile;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.skyport.gate.azure.FakeArm.error;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * What the Azure gate asks Resource Manager for, and what it leaves behind when a step fails, against the fake ARM on
 * WireMock. After every test WireMock must have matched every request and the fake must have understood it; after
 * every fault the partition's group is gone (deleted by the gate) or was never created.
 */
class AzurePartitionsTest {
    private static final String NETWORK = "/providers/Microsoft.Network/";
    private static final String COMPUTE = "/providers/Microsoft.Compute/virtualMachines/";

    @TempDir
    Path workDir;

    private static FakeArm arm;
    private AzureGate gate;
    private String name;

    @BeforeAll
    static void startArm() {
        arm = new FakeArm();
    }

    @AfterAll
    static void stopArm() {
        arm.close();
    }

    @BeforeEach
    void start() {
        arm.reset();
        gate = gate(arm.azure());
        name = "swm-" + UUID.randomUUID().toString().substring(0, 8);
    }

    @AfterEach
    void stop() {
        try {
            assertThat(arm.wireMock().findAllUnmatchedRequests()).as("requests WireMock had no stub for").isEmpty();
            assertThat(arm.unexpected()).as("requests the fake could not serve").isEmpty();
        } finally {
            gate.close();
        }
    }

    private AzureGate gate(AzureResourceManager azure) {
        return new AzureGate("azure", azure, TestCatalogue.standard(), new PartitionSettings("azure", "eastus",
                "skyport", List.of("203.0.113.0/24", "198.51.100.7/32"), 22, workDir, Clock.systemUTC()));
    }

    private PartitionSpec spec(int nodes, PortSpec... ports) {
        return new PartitionSpec(name, Optional.of(TestCatalogue.LARGE.name()), nodes, Optional.empty(),
                Optional.empty(), List.of(ports), Map.of(PartitionSpec.TAG_PARTITION, name, PartitionSpec.TAG_JOB,
                "0192f0e0-1111-7000-8000-000000000001", PartitionSpec.TAG_OWNER, "alice", PartitionSpec.TAG_ENGINE,
                "engine-1"));
    }

    private String rg() {
        return name + "-resource-group";
    }

    @Test
    void aOneNodePartitionIsOneGroupNsgNetworkPublicIpNicAndVm() {
        PartitionHandle p = gate.createPartition(spec(1, PortSpec.parse("8888/tcp/in")));

        assertThat(p.state()).isEqualTo(PartitionState.READY);
        assertThat(p.nodes()).singleElement().satisfies(n -> {
            assertThat(n.name()).isEqualTo(name + "-main");
            assertThat(n.role()).isEqualTo("head");
            assertThat(n.host()).startsWith("20.30.40.");
            assertThat(n.port()).isEqualTo(22);
            assertThat(n.cpus()).isEqualTo(8);
            assertThat(n.memoryBytes()).isEqualTo(32L << 30);
        });
        assertThat(arm.resourcePaths()).extracting(AzurePartitionsTest::tail).containsExactlyInAnyOrder(
                "networkSecurityGroups/" + name + "-nsg", "virtualNetworks/" + name + "-vnet",
                "publicIPAddresses/" + name + "-pip", "networkInterfaces/" + name + "-main-nic",
                "virtualMachines/" + name + "-main");
        assertThat(arm.groupNames()).containsExactly(rg());
    }

    @Test
    void aThreeNodePartitionHasAHeadWithThePublicIpAndComputeNodesOnPrivateIps() {
        PartitionHandle p = gate.createPartition(spec(3));

        assertThat(p.nodes()).extracting(PartitionNode::name)
                .containsExactly(name + "-main", name + "-node0", name + "-node1");
        assertThat(p.nodes()).extracting(PartitionNode::role).containsExactly("head", "compute", "compute");
        assertThat(p.nodes().get(0).host()).startsWith("20.30.40.");
        assertThat(p.nodes().subList(1, 3)).allSatisfy(n -> assertThat(n.host()).startsWith("10.0.0."));
        assertThat(p.nodes().stream().map(PartitionNode::host).distinct()).hasSize(3);
        assertThat(arm.puts(NETWORK + "publicIPAddresses/" + name + "-pip")).hasSize(1);
        assertThat(arm.puts("-nic")).hasSize(3);
        assertThat(arm.puts("/" + name + "-main$")).hasSize(1);
        assertThat(arm.puts("/" + name + "-node0$")).hasSize(1);
        assertThat(arm.puts("/" + name + "-node1$")).hasSize(1);
    }

    @Test
    void onlyTheHeadHasAPublicIpAndItIsStandardAndStatic() {
        gate.createPartition(spec(3));

        List<JsonNode> pips = arm.puts(NETWORK + "publicIPAddresses/" + name + "-pip");
        assertThat(pips).singleElement().satisfies(pip -> {
            assertThat(pip.at("/sku/name").asText()).isEqualTo("Standard");
            assertThat(pip.at("/properties/publicIPAllocationMethod").asText()).isEqualTo("Static");
            assertThat(pip.at("/properties/publicIPAddressVersion").asText()).isEqualTo("IPv4");
        });
        assertThat(arm.puts(NETWORK + "publicIPAddresses/")).hasSize(1);
        JsonNode headNic = arm.puts("/" + name + "-main-nic$").get(0);
        assertThat(headNic.at("/properties/ipConfigurations/0/properties/publicIPAddress/id").asText())
                .endsWith("/publicIPAddresses/" + name + "-pip");
        for (String compute : List.of("-node0-nic", "-node1-nic")) {
            assertThat(arm.puts("/" + name + compute + "$").get(0).at("/properties/ipConfigurations/0/properties")
                    .has("publicIPAddress")).as("%s has no public IP", compute).isFalse();
        }
    }

    @Test
    void theNsgOpensSshAndEachDistinctInPortToTheConfiguredSourcesOnly() {
        gate.createPartition(spec(1, PortSpec.parse("8888/tcp/in"), PortSpec.parse("8888/tcp/in"),
                PortSpec.parse("9999/udp/in"), PortSpec.parse("7000/tcp/out")));

        JsonNode nsg = arm.puts(NETWORK + "networkSecurityGroups/" + name + "-nsg").get(0);
        List<String> ports = new ArrayList<>();
        Set<Integer> priorities = new java.util.HashSet<>();
        for (JsonNode rule : nsg.at("/properties/securityRules")) {
            JsonNode r = rule.get("properties");
            ports.add(r.get("destinationPortRange").asText() + "/" + r.get("protocol").asText());
            assertThat(r.get("access").asText()).isEqualTo("Allow");
            assertThat(r.get("direction").asText()).isEqualTo("Inbound");
            assertThat(r.has("sourceAddressPrefix") && !r.get("sourceAddressPrefix").isNull())
                    .as("no single source, least of all *").isFalse();
            assertThat(r.get("sourceAddressPrefixes")).extracting(JsonNode::asText)
                    .containsExactly("203.0.113.0/24", "198.51.100.7/32");
            assertThat(rule.toString()).doesNotContain("0.0.0.0/0");
            assertThat(priorities.add(r.get("priority").asInt())).as("priorities are unique").isTrue();
        }
        assertThat(ports).containsExactly("22/Tcp", "8888/Tcp", "9999/Udp");

        JsonNode vnet = arm.puts(NETWORK + "virtualNetworks/" + name + "-vnet").get(0);
        JsonNode subnet = vnet.at("/properties/subnets/0/properties");
        assertThat(subnet.get("networkSecurityGroup").get("id").asText())
                .endsWith("/networkSecurityGroups/" + name + "-nsg");
        assertThat(subnet.get("defaultOutboundAccess").asBoolean()).isTrue();
    }

    @Test
    void aGateRefusesSourcesThatMeanEveryone() {
        for (String everyone : List.of("*", "0.0.0.0/0", "Internet")) {
            assertThatThrownBy(() -> new AzureGate("azure", arm.azure(), TestCatalogue.standard(),
                    new PartitionSettings("azure", "eastus", "skyport", List.of(everyone), 22, workDir,
                            Clock.systemUTC())))
                    .isInstanceOfSatisfying(GateException.class, e -> {
                        assertThat(e.isTransient()).isFalse();
                        assertThat(e.getMessage()).contains(everyone);
                    });
        }
    }

    @Test
    void everyResourceCarriesTheTagsAndEachVmItsRoleAndIndex() {
        gate.createPartition(spec(3));

        for (JsonNode r : arm.everything()) {
            JsonNode tags = r.get("tags");
            assertThat(tags.get(PartitionSpec.TAG_PARTITION).asText()).as("partition tag of %s", r.get("id"))
                    .isEqualTo(name);
            assertThat(tags.get(PartitionSpec.TAG_JOB).asText()).isEqualTo("0192f0e0-1111-7000-8000-000000000001");
            assertThat(tags.get(PartitionSpec.TAG_OWNER).asText()).isEqualTo("alice");
            assertThat(tags.get(PartitionSpec.TAG_ENGINE).asText()).isEqualTo("engine-1");
            assertThat(tags.get("skyport-nodes").asText()).isEqualTo("3");
            assertThat(java.time.Instant.parse(tags.get(PartitionSpec.TAG_CREATED).asText())).isNotNull();
        }
        assertThat(arm.puts("/" + name + "-main$").get(0).at("/tags/skyport-role").asText()).isEqualTo("head");
        assertThat(arm.puts("/" + name + "-main$").get(0).at("/tags/skyport-index").asText()).isEqualTo("0");
        assertThat(arm.puts("/" + name + "-node1$").get(0).at("/tags/skyport-role").asText()).isEqualTo("compute");
        assertThat(arm.puts("/" + name + "-node1$").get(0).at("/tags/skyport-index").asText()).isEqualTo("2");
    }

    @Test
    void vmsLogInWithThePartitionKeyOnlyAndDeleteTheirDiskAndNicWithThem() throws Exception {
        PartitionHandle p = gate.createPartition(spec(2));

        assertThat(p.sshUser()).isEqualTo("skyport");
        Path key = p.sshKey().orElseThrow();
        assertThat(Files.getPosixFilePermissions(key)).containsOnly(PosixFilePermission.OWNER_READ,
                PosixFilePermission.OWNER_WRITE);
        PKCS8KeyFile file = new PKCS8KeyFile();
        file.init(key.toFile());
        assertThat(file.getPublic().getAlgorithm()).isEqualTo("RSA");
        assertThat(((java.security.interfaces.RSAPublicKey) file.getPublic()).getModulus().bitLength()).isEqualTo(3072);
        String publicLine = "ssh-rsa " + Base64.getEncoder().encodeToString(wire(file.getPublic()));
        for (String vm : List.of("-main", "-node0")) {
            JsonNode put = arm.puts(COMPUTE + name + vm + "$").get(0).get("properties");
            assertThat(put.at("/hardwareProfile/vmSize").asText()).isEqualTo("Standard_D8s_v3");
            assertThat(put.at("/storageProfile/imageReference/publisher").asText()).isEqualTo("microsoft-dsvm");
            assertThat(put.at("/storageProfile/imageReference/offer").asText()).isEqualTo("ubuntu-hpc");
            assertThat(put.at("/storageProfile/osDisk/deleteOption").asText()).isEqualTo("Delete");
            assertThat(put.at("/networkProfile/networkInterfaces/0/properties/deleteOption").asText())
                    .isEqualTo("Delete");
            assertThat(put.at("/osProfile/adminUsername").asText()).isEqualTo("skyport");
            assertThat(put.at("/osProfile").has("adminPassword")).isFalse();
            assertThat(put.at("/osProfile/linuxConfiguration/disablePasswordAuthentication").asBoolean()).isTrue();
            JsonNode keys = put.at("/osProfile/linuxConfiguration/ssh/publicKeys");
            assertThat(keys).hasSize(1);
            assertThat(keys.get(0).get("path").asText()).isEqualTo("/home/skyport/.ssh/authorized_keys");
            assertThat(keys.get(0).get("keyData").asText()).startsWith(publicLine + " ");
        }
    }

    @Test
    void customDataCarriesTheHostKeysOfTheFingerprintsAndNoSecretOfTheEngine() throws Exception {
        PartitionHandle p = gate.createPartition(spec(3));
        String partitionKey = Files.readString(p.sshKey().orElseThrow());

        for (PartitionNode node : p.nodes()) {
            String base64 = arm.puts(COMPUTE + node.name() + "$").get(0).at("/properties/osProfile/customData").asText();
            byte[] raw = Base64.getDecoder().decode(base64);
            assertThat(raw.length).isLessThanOrEqualTo(65_535);
            String config = new String(raw, StandardCharsets.UTF_8);
            assertThat(config).startsWith("#cloud-config\n");
            assertThat(config).contains("\nssh_pwauth: false\n").contains("\ndisable_root: true\n");
            assertThat(config.toLowerCase()).doesNotContain("password").doesNotContain("secret");
            assertThat(config).doesNotContain(partitionKey.strip().split("\n")[1]);
            assertThat(count(config, "PRIVATE KEY-----\n")).as("one private key, begin and end").isEqualTo(2);
            assertThat(config).as("host keys are ed25519 only").doesNotContain("rsa_");

            String edPublic = line(config, "  ed25519_public: ");
            assertThat(Set.of(fingerprint(edPublic)))
                    .as("the pinned fingerprint of %s is that of its injected key", node.name())
                    .isEqualTo(node.hostKeyFingerprints());

            // the private key is the pair of its public key (read by SSHJ, the engine's SSH client)
            OpenSSHKeyV1KeyFile ed = new OpenSSHKeyV1KeyFile();
            ed.init(new StringReader(block(config, "  ed25519_private: |")), (net.schmizz.sshj.userauth.password.PasswordFinder) null);
            assertThat(Base64.getEncoder().encodeToString(wire(ed.getPublic()))).isEqualTo(edPublic.split(" ")[1]);

            if (node.role().equals("head")) {
                for (PartitionNode other : p.nodes().subList(1, 3)) {
                    String otherConfig = new String(Base64.getDecoder().decode(arm.puts(COMPUTE + other.name() + "$").get(0)
                            .at("/properties/osProfile/customData").asText()), StandardCharsets.UTF_8);
                    String otherEd = line(otherConfig, "  ed25519_public: ").split(" ")[1];
                    assertThat(config).as("the head pins %s", other.name())
                            .contains(other.host() + "," + other.name() + " ssh-ed25519 " + otherEd + "\n");
                }
                assertThat(config).contains("path: /etc/ssh/ssh_known_hosts");
            } else {
                assertThat(config).doesNotContain("ssh_known_hosts");
            }
        }
    }

    @Test
    void creatingAgainConvergesOnTheSameResourcesAndKeysAlsoAfterARestart() {
        PartitionHandle first = gate.createPartition(spec(2));
        PartitionHandle again = gate.createPartition(spec(2));
        gate.close();
        gate = gate(arm.azure());
        PartitionHandle afterRestart = gate.createPartition(spec(2));

        assertThat(again.nodes()).isEqualTo(first.nodes());
        assertThat(afterRestart.nodes()).isEqualTo(first.nodes());
        assertThat(afterRestart.created()).isEqualTo(first.created());
        assertThat(arm.groupNames()).containsExactly(rg());
        assertThat(arm.resourcePaths()).hasSize(7);
        List<JsonNode> headPuts = arm.puts(COMPUTE + name + "-main$");
        assertThat(headPuts).hasSize(3);
        assertThat(headPuts.get(1)).as("the same VM body, custom data included").isEqualTo(headPuts.get(0));
        assertThat(headPuts.get(2)).isEqualTo(headPuts.get(0));
        assertThat(arm.deletedGroups()).isEmpty();
    }

    @Test
    void aPartitionIsListedReadyWithItsNodesAndTagsAfterARestart() {
        PartitionHandle created = gate.createPartition(spec(3));
        gate.close();
        gate = gate(arm.azure());

        assertThat(gate.listPartitions()).singleElement().satisfies(p -> {
            assertThat(p.name()).isEqualTo(name);
            assertThat(p.state()).isEqualTo(PartitionState.READY);
            assertThat(p.nodes()).isEqualTo(created.nodes());
            assertThat(p.tags()).containsAllEntriesOf(spec(3).tags()).containsEntry("skyport-nodes", "3");
            assertThat(p.sshKey()).isEqualTo(created.sshKey());
        });
        assertThat(arm.requests()).anyMatch(r -> r.startsWith("GET ") && r.toLowerCase().endsWith("/resourcegroups"));
    }

    @Test
    void aGroupThatVanishesWhileListedIsSkippedAndTheOthersAreListed() {
        gate.createPartition(spec(1));
        String other = "swm-0ther000";
        arm.azure().resourceGroups().manager().serviceClient().getResourceGroups().createOrUpdate(
                other + AzurePartitions.GROUP_SUFFIX,
                new com.azure.resourcemanager.resources.fluent.models.ResourceGroupInner().withLocation("eastus")
                        .withTags(Map.of(PartitionSpec.TAG_PARTITION, other, "skyport-nodes", "1")));
        // The group is deleted between the listing of the groups and that of its VMs.
        arm.fault("GET", "(?i)/resourcegroups/" + other + AzurePartitions.GROUP_SUFFIX + "/providers/", 1,
                error(404, "ResourceGroupNotFound"));
        assertThat(gate.listPartitions()).singleElement().satisfies(p -> {
            assertThat(p.name()).isEqualTo(name);
            assertThat(p.state()).isEqualTo(PartitionState.READY);
        });
        // Any other failure still fails the listing: the reconciler must not act on half an answer.
        arm.fault("GET", "(?i)/resourcegroups/" + other + AzurePartitions.GROUP_SUFFIX + "/providers/", 1,
                error(500, "InternalServerError"));
        assertThatThrownBy(() -> gate.listPartitions()).isInstanceOfSatisfying(GateException.class,
                e -> assertThat(e.isTransient()).isTrue());
    }

    @Test
    void aGroupWithoutItsVmsIsListedCreatingAndAFailedVmFailed() {
        arm.azure().resourceGroups().manager().serviceClient().getResourceGroups().createOrUpdate(rg(),
                new com.azure.resourcemanager.resources.fluent.models.ResourceGroupInner().withLocation("eastus")
                        .withTags(Map.of(PartitionSpec.TAG_PARTITION, name, "skyport-nodes", "2")));
        assertThat(gate.listPartitions()).singleElement()
                .satisfies(p -> assertThat(p.state()).isEqualTo(PartitionState.CREATING));

        // the VM fails and the gate's own clean-up fails too: the group stays, listed as failed, for the engine
        arm.fault("PUT", COMPUTE + name + "-node0$", 1, new FakeArm.LroFailed("OSProvisioningTimedOut",
                "the OS did not report ready", List.of()));
        arm.fault("DELETE", "/resourcegroups/" + rg() + "$", 1, error(500, "InternalServerError"));
        assertThatThrownBy(() -> gate.createPartition(spec(2))).isInstanceOfSatisfying(GateException.class, e -> {
            assertThat(e.isTransient()).isFalse();
            assertThat(e.reason()).contains(EndReason.PARTITION_FAILED);
            assertThat(e.getMessage()).contains("OSProvisioningTimedOut");
        });
        assertThat(gate.listPartitions()).singleElement()
                .satisfies(p -> assertThat(p.state()).isEqualTo(PartitionState.FAILED));

        gate.deletePartition(name);
        assertThat(arm.groupNames()).isEmpty();
        assertThat(gate.listPartitions()).isEmpty();
    }

    @Test
    void deletingRemovesTheGroupAndTheKeysAndAMissingGroupIsNotAnError() {
        gate.createPartition(spec(1));
        Path dir = workDir.resolve("partitions").resolve(name);
        assertThat(dir).isDirectory();

        gate.deletePartition(name);
        assertThat(arm.groupNames()).isEmpty();
        assertThat(arm.resourcePaths()).isEmpty();
        assertThat(arm.deletedGroups()).containsExactly(rg());
        assertThat(dir).doesNotExist();
        gate.deletePartition(name);
        assertThat(arm.requests()).filteredOn(r -> r.startsWith("DELETE")).hasSize(2);
    }

    @Test
    void throttlingIsTransientWithTheRetryAfterOfAzure() {
        arm.fault("PUT", NETWORK + "networkSecurityGroups/", 1, FakeArm.throttled(7));
        assertThatThrownBy(() -> gate.createPartition(spec(1))).isInstanceOfSatisfying(GateException.class, e -> {
            assertThat(e.isTransient()).isTrue();
            assertThat(e.retryAfter()).contains(Duration.ofSeconds(7));
        });
        assertCleanedUp();
    }

    @Test
    void aServerErrorIsTransientAndDeletesWhatWasCreated() {
        arm.fault("PUT", NETWORK + "networkInterfaces/" + name + "-main-nic", 1, error(500, "InternalServerError"));
        assertThatThrownBy(() -> gate.createPartition(spec(2))).isInstanceOfSatisfying(GateException.class,
                e -> assertThat(e.isTransient()).isTrue());
        assertCleanedUp();
    }

    @Test
    void anUnavailableServiceWhenCreatingTheGroupIsTransientAndTheGroupIsDeletedInCaseItExists() {
        // a 5xx does not say whether ARM created the group before failing: the gate deletes it to be sure (a 404)
        arm.fault("PUT", "/resourcegroups/" + rg() + "$", 1, error(503, "ServiceUnavailable"));
        assertThatThrownBy(() -> gate.createPartition(spec(1))).isInstanceOfSatisfying(GateException.class, e -> {
            assertThat(e.isTransient()).isTrue();
            assertThat(e.getMessage()).contains("ServiceUnavailable");
        });
        assertThat(arm.groupNames()).isEmpty();
        assertThat(arm.requests()).filteredOn(r -> !r.startsWith("GET")).containsExactly(
                "PUT /subscriptions/" + FakeArm.SUBSCRIPTION + "/resourcegroups/" + rg(),
                "DELETE /subscriptions/" + FakeArm.SUBSCRIPTION + "/resourcegroups/" + rg());
        assertThat(workDir.resolve("partitions").resolve(name)).doesNotExist();
    }

    @Test
    void aTimeoutIsTransientAndDeletesWhatAzureCreatedMeanwhile() {
        gate.close();
        gate = gate(arm.azure(new RetryPolicy(new com.azure.core.http.policy.FixedDelay(0, Duration.ZERO)),
                Duration.ofSeconds(1)));
        arm.fault("PUT", NETWORK + "publicIPAddresses/", 1, new FakeArm.Delay(Duration.ofSeconds(4)));
        assertThatThrownBy(() -> gate.createPartition(spec(1))).isInstanceOfSatisfying(GateException.class,
                e -> assertThat(e.isTransient()).isTrue());
        assertCleanedUp();
    }

    @Test
    void anAllocationFailureEndingTheVmsOperationIsTransientNoCapacity() {
        arm.fault("PUT", COMPUTE + name + "-node1$", 1,
                new FakeArm.LroFailed("AllocationFailed", "no machines of this size now", List.of()));
        assertThatThrownBy(() -> gate.createPartition(spec(3))).isInstanceOfSatisfying(GateException.class, e -> {
            assertThat(e.isTransient()).isTrue();
            assertThat(e.reason()).contains(EndReason.NO_CAPACITY);
            assertThat(e.getMessage()).contains("AllocationFailed");
        });
        assertCleanedUp();
    }

    @Test
    void aQuotaErrorIsPermanentQuotaExceeded() {
        arm.fault("PUT", COMPUTE + name + "-main$", 1, new FakeArm.Error(409, "OperationNotAllowed",
                "Operation could not be completed as it results in exceeding approved standardDSv3Family Cores quota.",
                List.of(), Map.of()));
        assertThatThrownBy(() -> gate.createPartition(spec(1))).isInstanceOfSatisfying(GateException.class, e -> {
            assertThat(e.isTransient()).isFalse();
            assertThat(e.reason()).contains(EndReason.QUOTA_EXCEEDED);
            assertThat(e.getMessage()).contains("quota");
        });
        assertCleanedUp();
    }

    @Test
    void aQuotaCodeInTheDetailsOfAFailedOperationIsQuotaExceeded() {
        arm.fault("PUT", NETWORK + "publicIPAddresses/", 1,
                new FakeArm.LroFailed("DeploymentFailed", "at least one resource failed", List.of("PublicIPCountLimitReached")));
        assertThatThrownBy(() -> gate.createPartition(spec(1))).isInstanceOfSatisfying(GateException.class, e -> {
            assertThat(e.isTransient()).isFalse();
            assertThat(e.reason()).contains(EndReason.QUOTA_EXCEEDED);
        });
        assertCleanedUp();
    }

    @Test
    void aSizeNotOfferedIsPermanentNoCapacity() {
        arm.fault("PUT", COMPUTE, 1, error(409, "SkuNotAvailable"));
        assertThatThrownBy(() -> gate.createPartition(spec(2))).isInstanceOfSatisfying(GateException.class, e -> {
            assertThat(e.isTransient()).isFalse();
            assertThat(e.reason()).contains(EndReason.NO_CAPACITY);
        });
        assertCleanedUp();
    }

    @Test
    void anInvalidParameterIsPermanentPartitionFailedWithAzuresMessage() {
        arm.fault("PUT", NETWORK + "virtualNetworks/", 1, new FakeArm.Error(400, "InvalidParameter",
                "Subnet default is not valid in virtual network.", List.of(), Map.of()));
        assertThatThrownBy(() -> gate.createPartition(spec(1))).isInstanceOfSatisfying(GateException.class, e -> {
            assertThat(e.isTransient()).isFalse();
            assertThat(e.reason()).contains(EndReason.PARTITION_FAILED);
            assertThat(e.getMessage()).contains("Subnet default is not valid");
        });
        assertCleanedUp();
    }

    @Test
    void creationSucceedingButTheReadBackFailingDeletesThePartition() {
        arm.fault("GET", NETWORK + "publicIPAddresses$", 1, error(502, "BadGateway"));
        assertThatThrownBy(() -> gate.createPartition(spec(2))).isInstanceOfSatisfying(GateException.class,
                e -> assertThat(e.isTransient()).isTrue());
        assertThat(arm.puts(COMPUTE)).as("every VM had been created").hasSize(2);
        assertCleanedUp();
    }

    @Test
    void anInterruptedCallStopsBeforeCreatingAnything() {
        Thread.currentThread().interrupt();
        try {
            assertThatThrownBy(() -> gate.createPartition(spec(1))).isInstanceOfSatisfying(GateException.class, e -> {
                assertThat(e.isTransient()).isTrue();
                assertThat(e.getMessage()).contains("interrupted");
            });
        } finally {
            Thread.interrupted();
        }
        assertThat(arm.requests()).isEmpty();
    }

    @Test
    void anInterruptionStopsTheCreateBetweenStepsAndWhatExistsStaysListedForTheEngineToDelete() throws Exception {
        arm.fault("PUT", NETWORK + "networkSecurityGroups/", 1, new FakeArm.Delay(Duration.ofSeconds(3)));
        CountDownLatch nsgAsked = arm.arrival("PUT", NETWORK + "networkSecurityGroups/");
        AtomicReference<Throwable> thrown = new AtomicReference<>();
        Thread creator = new Thread(() -> {
            try {
                gate.createPartition(spec(1));
            } catch (Throwable e) {
                thrown.set(e);
            }
        });
        creator.start();
        assertThat(nsgAsked.await(60, TimeUnit.SECONDS)).isTrue();
        creator.interrupt();
        creator.join(60_000);

        assertThat(creator.isAlive()).isFalse();
        assertThat(thrown.get()).isInstanceOfSatisfying(GateException.class, e -> {
            assertThat(e.isTransient()).isTrue();
            assertThat(e.getMessage()).contains("interrupted");
        });
        assertThat(arm.puts(COMPUTE)).as("no VM was asked for after the interruption").isEmpty();
        assertThat(gate.listPartitions()).singleElement().satisfies(p -> {
            assertThat(p.name()).isEqualTo(name);
            assertThat(p.state()).isEqualTo(PartitionState.CREATING);
        });
        gate.deletePartition(name);
        assertCleanedUp();
    }

    @Test
    void anUnknownImageIsRefusedListingTheChoicesBeforeAnythingIsCreated() {
        PartitionSpec s = spec(1);
        PartitionSpec bad = new PartitionSpec(name, s.flavor(), 1, Optional.of("ubuntu/no-such"), Optional.empty(),
                List.of(), s.tags());
        assertThatThrownBy(() -> gate.createPartition(bad)).isInstanceOfSatisfying(GateException.class, e -> {
            assertThat(e.isTransient()).isFalse();
            assertThat(e.getMessage()).contains("ubuntu/no-such").contains("ubuntu-hpc/2204")
                    .contains("0001-com-ubuntu-server-jammy/22_04-lts");
        });
        assertThat(arm.requests()).isEmpty();
    }

    @Test
    void aNamedImageIsTheOneTheVmsBootFrom() {
        PartitionSpec s = spec(1);
        gate.createPartition(new PartitionSpec(name, s.flavor(), 1, Optional.of("0001-com-ubuntu-server-jammy/22_04-lts"),
                Optional.empty(), List.of(), s.tags()));
        JsonNode image = arm.puts(COMPUTE + name + "-main$").get(0).at("/properties/storageProfile/imageReference");
        assertThat(image.get("publisher").asText()).isEqualTo("Canonical");
        assertThat(image.get("sku").asText()).isEqualTo("22_04-lts");
        assertThat(image.get("version").asText()).isEqualTo("latest");
    }

    @Test
    void theSdksDefaultRetryPolicyRetriesAThrottledCallAfterItsRetryAfter() {
        gate.close();
        gate = gate(arm.azure(new RetryPolicy(), Duration.ofSeconds(60)));
        arm.fault("PUT", NETWORK + "networkSecurityGroups/", 1, FakeArm.throttled(1));

        PartitionHandle p = gate.createPartition(spec(1));

        assertThat(p.state()).isEqualTo(PartitionState.READY);
        assertThat(arm.requests()).filteredOn(r -> r.startsWith("PUT") && r.contains("networkSecurityGroups"))
                .hasSize(2);
        assertThat(arm.deletedGroups()).isEmpty();
    }

    /** The group was deleted by the gate, or never created; nothing of the partition is left. */
    private void assertCleanedUp() {
        assertThat(arm.groupNames()).as("groups left").isEmpty();
        assertThat(arm.resourcePaths()).as("resources left").isEmpty();
        boolean groupCreated = arm.requests().stream().anyMatch(r -> r.startsWith("PUT") && r.endsWith("/" + rg()));
        if (groupCreated) {
            assertThat(arm.deletedGroups()).as("the gate deleted the group").containsExactly(rg());
        }
        assertThat(workDir.resolve("partitions").resolve(name)).as("keys of a deleted partition").doesNotExist();
    }

    private static String tail(String id) {
        String[] parts = id.split("/");
        return parts[parts.length - 2] + "/" + parts[parts.length - 1];
    }

    private static int count(String s, String what) {
        int n = 0;
        for (int i = s.indexOf(what); i >= 0; i = s.indexOf(what, i + 1)) {
            n++;
        }
        return n;
    }

    private static String line(String config, String prefix) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(prefix) + "(.*)$").matcher(config);
        assertThat(m.find()).as("a line %s", prefix).isTrue();
        return m.group(1).trim();
    }

    /** The YAML block scalar under {@code key}: its lines without their indentation. */
    private static String block(String config, String key) {
        List<String> lines = List.of(config.split("\n"));
        int start = lines.indexOf(key);
        assertThat(start).as("block %s", key).isNotNegative();
        StringBuilder out = new StringBuilder();
        for (String l : lines.subList(start + 1, lines.size())) {
            if (!l.startsWith("    ")) {
                break;
            }
            out.append(l.substring(4)).append('\n');
        }
        return out.toString();
    }

    /** The SSH wire encoding of a public key, by SSHJ. */
    private static byte[] wire(PublicKey key) {
        return new Buffer.PlainBuffer().putPublicKey(key).getCompactData();
    }

    /** {@code SHA256:} fingerprint computed here from the public key line, independently of the gate. */
    private static String fingerprint(String publicLine) throws Exception {
        byte[] blob = Base64.getDecoder().decode(publicLine.split(" ")[1]);
        return "SHA256:" + Base64.getEncoder().withoutPadding()
                .encodeToString(MessageDigest.getInstance("SHA-256").digest(blob));
    }
}

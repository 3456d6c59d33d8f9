package dev.skyport.core.internal;

import dev.skyport.api.JobTransitioned;
import dev.skyport.api.Node;
import dev.skyport.api.NodeState;
import dev.skyport.api.NodeTransitioned;
import dev.skyport.api.SkyPort;
import dev.skyport.api.SkyPortEvent;
import dev.skyport.api.Subscription;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Node transitions from the gate's listings (gate {@code switchable}, whose one node a test takes down and up): stored
 * in the event sequence, delivered to every subscriber and view, and not announced again after a restart.
 */
class NodeEventsTest {
    private static final Duration WAIT = Duration.ofSeconds(60);

    @TempDir
    Path data;

    @AfterEach
    void nodeUpAgain() {
        SwitchableGate.state = NodeState.UP;
        SwitchableGate.nodesFail = false;
    }

    private SkyPort start() {
        return SkyPort.embedded().dataDir(data).gate("switchable").localCpus(1).start();
    }

    private static List<NodeTransitioned> nodeEvents(List<SkyPortEvent> events) {
        return events.stream().filter(e -> e instanceof NodeTransitioned).map(e -> (NodeTransitioned) e).toList();
    }

    private static void await(List<SkyPortEvent> events, Predicate<List<NodeTransitioned>> condition, String what)
            throws InterruptedException {
        Instant deadline = Instant.now().plus(WAIT);
        while (!condition.test(nodeEvents(events))) {
            assertThat(Instant.now()).as("%s; node events so far: %s", what, nodeEvents(events)).isBefore(deadline);
            TimeUnit.MILLISECONDS.sleep(10);
        }
    }

    @Test
    void aNodeGoingDownAndUpIsRecordedAndDeliveredToEveryoneWithAnIdleQueue() throws Exception {
        SwitchableGate.state = NodeState.UP;
        try (SkyPort sky = start()) {
            Node node = sky.nodes().get(0);
            List<SkyPortEvent> all = new CopyOnWriteArrayList<>();
            List<SkyPortEvent> alices = new CopyOnWriteArrayList<>();
            List<SkyPortEvent> live = new CopyOnWriteArrayList<>();
            try (Subscription a = sky.events().subscribeAfter(0, all::add);
                 Subscription b = sky.asUser("alice").events().subscribeAfter(0, alices::add);
                 Subscription c = sky.asUser("bob").events().subscribe(live::add)) {
                await(all, e -> e.size() == 1, "the node first seen at start");
                NodeTransitioned first = nodeEvents(all).get(0);
                assertThat(first.node()).isEqualTo(node.name());
                assertThat(first.partition()).isEqualTo(node.partition());
                assertThat(first.from()).isEmpty();
                assertThat(first.to()).isEqualTo(NodeState.UP);

                // Nothing is submitted: the loop's idle check must notice the change by itself.
                SwitchableGate.state = NodeState.DOWN;
                await(all, e -> e.size() == 2, "the node going down");
                SwitchableGate.state = NodeState.UP;
                await(all, e -> e.size() == 3, "the node coming back");

                List<NodeTransitioned> seen = nodeEvents(all);
                assertThat(seen.subList(1, 3)).extracting(NodeTransitioned::from)
                        .containsExactly(Optional.of(NodeState.UP), Optional.of(NodeState.DOWN));
                assertThat(seen.subList(1, 3)).extracting(NodeTransitioned::to)
                        .containsExactly(NodeState.DOWN, NodeState.UP);
                assertThat(seen).extracting(SkyPortEvent::sequence).isSorted().doesNotHaveDuplicates();
                assertThat(all).noneMatch(e -> e instanceof JobTransitioned);
                await(alices, e -> e.size() == 3, "a user view gets node events too");
                assertThat(nodeEvents(alices)).isEqualTo(seen);
                await(live, e -> e.size() == 2, "a plain subscription gets the changes");
                assertThat(nodeEvents(live)).isEqualTo(seen.subList(1, 3));
                assertThat(sky.events().lastSequence()).isEqualTo(seen.get(2).sequence());
                assertThat(((Engine) sky).store().lastNodeEvents()).containsEntry(node.name(), seen.get(2));
            }
        }
    }

    @Test
    void aRestartAnnouncesANodeAgainOnlyWhenItsStateDiffersFromTheLastStored() throws Exception {
        SwitchableGate.state = NodeState.UP;
        long afterFirst;
        try (SkyPort sky = start()) {
            afterFirst = sky.events().lastSequence();
            assertThat(afterFirst).as("the node first seen is recorded at start").isEqualTo(1);
        }
        try (SkyPort sky = start()) {
            // The first listing is compared while the engine starts: a same state would have been recorded by now.
            assertThat(sky.events().lastSequence()).as("same state, nothing recorded").isEqualTo(afterFirst);
        }
        SwitchableGate.state = NodeState.DOWN; // changed while no engine ran
        try (SkyPort sky = start()) {
            assertThat(sky.events().lastSequence()).isEqualTo(afterFirst + 1);
            List<SkyPortEvent> all = new CopyOnWriteArrayList<>();
            try (Subscription s = sky.events().subscribeAfter(0, all::add)) {
                await(all, e -> e.size() == 2, "both stored node events replayed");
            }
            List<NodeTransitioned> seen = nodeEvents(all);
            assertThat(seen.get(0).from()).isEmpty();
            assertThat(seen.get(1).from()).contains(NodeState.UP);
            assertThat(seen.get(1).to()).isEqualTo(NodeState.DOWN);
        }
    }

    @Test
    void aListingThatFailsChangesNothingAndTheNextOneIsCompared() throws Exception {
        SwitchableGate.state = NodeState.UP;
        try (SkyPort sky = start()) {
            long start = sky.events().lastSequence();
            List<SkyPortEvent> all = new CopyOnWriteArrayList<>();
            try (Subscription s = sky.events().subscribeAfter(start, all::add)) {
                SwitchableGate.nodesFail = true;
                Instant deadline = Instant.now().plus(WAIT);
                while (sky.health().problems().stream().noneMatch(p -> p.component().equals("gate-nodes"))) {
                    assertThat(Instant.now()).as("a failed listing shows in the health").isBefore(deadline);
                    TimeUnit.MILLISECONDS.sleep(10);
                }
                // A gate that cannot answer is not a node that went away.
                assertThat(sky.events().lastSequence()).isEqualTo(start);
                SwitchableGate.state = NodeState.DOWN;
                SwitchableGate.nodesFail = false;
                await(all, e -> e.size() == 1, "the change seen once the gate answers again");
                assertThat(nodeEvents(all).get(0).from()).contains(NodeState.UP);
                assertThat(nodeEvents(all).get(0).to()).isEqualTo(NodeState.DOWN);
                assertThat(nodeEvents(all).get(0).details()).doesNotContain(NodeWatch.NOT_LISTED);
            }
        }
    }
}

package dev.skyport.scheduler;

import dev.skyport.api.ArchitectureRules;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;

import java.time.Clock;
import java.util.Random;

import static com.tngtech.archunit.core.domain.JavaAccess.Predicates.target;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAPackage;
import static com.tngtech.archunit.core.domain.properties.HasName.Predicates.name;
import static com.tngtech.archunit.core.domain.properties.HasOwner.Predicates.With.owner;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

/**
 * Schedulers are pure functions of their input (see {@link Scheduler}): the engine hands them the cluster, the queue
 * and the time, so they need no I/O, no clock, no threads. That is what makes a plan reproducible in a test and the
 * same in the embedded engine and the daemon.
 */
@AnalyzeClasses(packages = "dev.skyport.scheduler", importOptions = ImportOption.DoNotIncludeTests.class)
class ArchitectureTest {
    private static final String OWN = "dev.skyport.scheduler";

    @ArchTest
    static final ArchRule dependsOnlyOnTheJdkAndTheApi = classes().that().resideInAPackage(OWN + "..")
            .should().onlyDependOnClassesThat().resideInAnyPackage("java..", "dev.skyport.api..", OWN + "..")
            .because("skyport-scheduler depends on skyport-api only (ARCHITECTURE.md, Modules)");

    @ArchTest
    static final ArchRule doesNoIoAndStartsNoThreads = noClasses().that().resideInAPackage(OWN + "..")
            .should().dependOnClassesThat().resideInAnyPackage(
                    "java.io..", "java.nio.file..", "java.net..", "java.util.concurrent..")
            .orShould().dependOnClassesThat().belongToAnyOf(Thread.class, Clock.class)
            .because("a scheduler is a pure function: no I/O, no threads, no clock (time is the `now` argument)");

    @ArchTest
    static final ArchRule readsNoClock = noClasses().that().resideInAPackage(OWN + "..")
            .should().callMethodWhere(target(name("now")).and(target(owner(resideInAPackage("java.time..")))))
            .orShould().callMethod(System.class, "currentTimeMillis")
            .orShould().callMethod(System.class, "nanoTime")
            .because("the time of a scheduling pass is the `now` argument, so that plans are reproducible");

    @ArchTest
    static final ArchRule usesNoHiddenRandomness = noClasses().that().resideInAPackage(OWN + "..")
            .should().dependOnClassesThat().areAssignableTo(Random.class)
            .orShould().callMethod(Math.class, "random")
            .because("the same input must give the same plan (Scheduler's contract)");

    @ArchTest
    static final ArchRule spiDoesNotReachIntoInternal = noClasses().that().resideInAPackage(OWN + "..")
            .and().resideOutsideOfPackage(OWN + ".internal..")
            .should().dependOnClassesThat().resideInAPackage(OWN + ".internal..")
            .because("implementations are found with ServiceLoader, never referenced by the SPI");

    @ArchTest
    static final ArchRule doesNotUseOtherModulesInternals = ArchitectureRules.doesNotUseOtherModulesInternals(OWN);

    @ArchTest
    static final ArchRule doesNotUseJavaUtilLogging = ArchitectureRules.doesNotUseJavaUtilLogging(OWN);

    @ArchTest
    static final ArchRule doesNotWriteToStandardStreams = ArchitectureRules.doesNotWriteToStandardStreams();
}

package dev.skyport.core;

import dev.skyport.api.ArchitectureRules;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;

import static com.tngtech.archunit.base.DescribedPredicate.not;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAPackage;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAnyPackage;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

/**
 * Core sits on top of api, the gate SPI and the scheduler SPI and uses their public types only. Its own public
 * packages ({@code dev.skyport.core.store}) are SPIs that third parties implement, so they must not drag the engine
 * in: implementations meet them through {@link java.util.ServiceLoader}, never by reference.
 */
@AnalyzeClasses(packages = "dev.skyport.core", importOptions = ImportOption.DoNotIncludeTests.class)
class ArchitectureTest {
    private static final String OWN = "dev.skyport.core";

    @ArchTest
    static final ArchRule usesOnlyApiGateSpiAndSchedulerAmongOurModules = noClasses().that().resideInAPackage(OWN + "..")
            .should().dependOnClassesThat(resideInAPackage("dev.skyport..")
                    .and(not(resideInAnyPackage("dev.skyport.api..", "dev.skyport.gate", "dev.skyport.scheduler..",
                            OWN + ".."))))
            .because("core depends on api, gate-spi (dev.skyport.gate) and scheduler; never on gate"
                    + " implementations, the client or samples (ARCHITECTURE.md, Modules)");

    @ArchTest
    static final ArchRule publicPackagesDoNotReachIntoInternal = noClasses().that().resideInAPackage(OWN + "..")
            .and().resideOutsideOfPackage(OWN + ".internal..")
            .should().dependOnClassesThat().resideInAPackage(OWN + ".internal..")
            .because("the public SPIs (e.g. JobStore) meet their implementations through ServiceLoader only");

    @ArchTest
    static final ArchRule doesNotUseOtherModulesInternals = ArchitectureRules.doesNotUseOtherModulesInternals(OWN);

    @ArchTest
    static final ArchRule doesNotUseJavaUtilLogging = ArchitectureRules.doesNotUseJavaUtilLogging(OWN);

    @ArchTest
    static final ArchRule doesNotWriteToStandardStreams = ArchitectureRules.doesNotWriteToStandardStreams();
}

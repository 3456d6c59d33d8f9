package dev.skyport.gate.azure;

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
 * A gate implementation sees the engine only through the gate SPI, so it can be released, replaced or written by a
 * third party without touching core.
 */
@AnalyzeClasses(packages = "dev.skyport.gate.azure", importOptions = ImportOption.DoNotIncludeTests.class)
class ArchitectureTest {
    private static final String OWN = "dev.skyport.gate.azure";

    @ArchTest
    static final ArchRule doesNotDependOnCore = noClasses().that().resideInAPackage(OWN + "..")
            .should().dependOnClassesThat().resideInAPackage("dev.skyport.core..")
            .because("gate implementations never depend on core (ARCHITECTURE.md, Modules)")
            .allowEmptyShould(true);

    @ArchTest
    static final ArchRule usesOnlyTheGateSpiAndTheApi = noClasses().that().resideInAPackage(OWN + "..")
            .should().dependOnClassesThat(resideInAPackage("dev.skyport..")
                    .and(not(resideInAnyPackage("dev.skyport.api..", "dev.skyport.gate", OWN + ".."))))
            .because("a gate is written against skyport-gate-spi (dev.skyport.gate) and skyport-api only")
            .allowEmptyShould(true);

    @ArchTest
    static final ArchRule doesNotUseOtherModulesInternals = ArchitectureRules.doesNotUseOtherModulesInternals(OWN);
}

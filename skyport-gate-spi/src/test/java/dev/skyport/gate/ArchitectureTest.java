package dev.skyport.gate;

import dev.skyport.api.ArchitectureRules;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;

import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAPackage;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;

/**
 * The gate SPI is what third-party gates compile against, so it carries nothing but the JDK and the public model:
 * a gate must be writable without pulling in the engine or any library the engine happens to use.
 */
@AnalyzeClasses(packages = "dev.skyport.gate", importOptions = ImportOption.DoNotIncludeTests.class)
class ArchitectureTest {
    private static final String OWN = "dev.skyport.gate";

    @ArchTest
    static final ArchRule dependsOnlyOnTheJdkAndTheApi = classes().that().resideInAPackage(OWN + "..")
            .should().onlyDependOnClassesThat().resideInAnyPackage("java..", "dev.skyport.api..", OWN + "..")
            .because("skyport-gate-spi depends on skyport-api only (ARCHITECTURE.md, Modules)");

    @ArchTest
    static final ArchRule doesNotUseOtherModulesInternals = ArchitectureRules.doesNotUseOtherModulesInternals(OWN);

    @ArchTest
    static final ArchRule doesNotUseJavaUtilLogging = ArchitectureRules.doesNotUseJavaUtilLogging(OWN);

    @ArchTest
    static final ArchRule doesNotWriteToStandardStreams = ArchitectureRules.doesNotWriteToStandardStreams();
}

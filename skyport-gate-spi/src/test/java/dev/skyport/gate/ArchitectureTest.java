package dev.skyport.gate;

import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;

import static com.tngtech.archunit.base.DescribedPredicate.not;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAPackage;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.GeneralCodingRules.NO_CLASSES_SHOULD_ACCESS_STANDARD_STREAMS;

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
    static final ArchRule doesNotUseOtherModulesInternals = noClasses().that().resideInAPackage(OWN + "..")
            .should().dependOnClassesThat(resideInAPackage("dev.skyport..internal..")
                    .and(not(resideInAPackage(OWN + ".."))))
            .because("a module's internal packages are its own; others use its public types or a ServiceLoader SPI");

    // GeneralCodingRules.NO_CLASSES_SHOULD_USE_JAVA_UTIL_LOGGING only catches a Logger stored in a field; this
    // catches any use, e.g. Logger.getLogger(...).info(...) inline.
    @ArchTest
    static final ArchRule doesNotUseJavaUtilLogging = noClasses().that().resideInAPackage(OWN + "..")
            .should().dependOnClassesThat().resideInAPackage("java.util.logging..")
            .because("library code logs through SLF4J (or not at all), never through java.util.logging");

    @ArchTest
    static final ArchRule doesNotWriteToStandardStreams = NO_CLASSES_SHOULD_ACCESS_STANDARD_STREAMS
            .because("a library must not write to the embedding application's console");
}

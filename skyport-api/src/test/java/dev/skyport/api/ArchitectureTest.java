package dev.skyport.api;

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
 * The public model sits at the bottom of the module graph: every other module depends on it, so it depends on the
 * JDK alone. A third-party type here would leak into every user's classpath and API.
 */
@AnalyzeClasses(packages = "dev.skyport.api", importOptions = ImportOption.DoNotIncludeTests.class)
class ArchitectureTest {
    private static final String OWN = "dev.skyport.api";

    @ArchTest
    static final ArchRule dependsOnlyOnTheJdk = classes().that().resideInAPackage(OWN + "..")
            .should().onlyDependOnClassesThat().resideInAnyPackage("java..", OWN + "..")
            .because("skyport-api depends on the JDK only (ARCHITECTURE.md, Modules)");

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

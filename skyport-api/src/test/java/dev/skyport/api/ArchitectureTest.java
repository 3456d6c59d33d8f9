package dev.skyport.api;

import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;

import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAPackage;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;

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
    static final ArchRule doesNotUseOtherModulesInternals = ArchitectureRules.doesNotUseOtherModulesInternals(OWN);

    @ArchTest
    static final ArchRule doesNotUseJavaUtilLogging = ArchitectureRules.doesNotUseJavaUtilLogging(OWN);

    @ArchTest
    static final ArchRule doesNotWriteToStandardStreams = ArchitectureRules.doesNotWriteToStandardStreams();
}

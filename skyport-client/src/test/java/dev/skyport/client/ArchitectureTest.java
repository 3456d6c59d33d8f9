package dev.skyport.client;

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
 * The REST client is the same {@code SkyPort} interface over HTTP: it talks to the daemon, never to the engine, so it
 * depends on skyport-api alone among our modules. Library code logs through SLF4J only and never writes to the console.
 */
@AnalyzeClasses(packages = "dev.skyport.client", importOptions = ImportOption.DoNotIncludeTests.class)
class ArchitectureTest {
    private static final String OWN = "dev.skyport.client";

    @ArchTest
    static final ArchRule doesNotDependOnCore = noClasses().that().resideInAPackage(OWN + "..")
            .should().dependOnClassesThat().resideInAPackage("dev.skyport.core..")
            .because("the client reaches the engine over REST only (ARCHITECTURE.md, Modules)");

    @ArchTest
    static final ArchRule usesOnlyTheApi = noClasses().that().resideInAPackage(OWN + "..")
            .should().dependOnClassesThat(resideInAPackage("dev.skyport..")
                    .and(not(resideInAnyPackage("dev.skyport.api..", OWN + ".."))))
            .because("skyport-client depends on skyport-api only among Sky Port's modules");

    @ArchTest
    static final ArchRule doesNotUseJavaUtilLogging = ArchitectureRules.doesNotUseJavaUtilLogging(OWN);

    @ArchTest
    static final ArchRule doesNotWriteToStandardStreams = ArchitectureRules.doesNotWriteToStandardStreams();

    @ArchTest
    static final ArchRule doesNotUseOtherModulesInternals = ArchitectureRules.doesNotUseOtherModulesInternals(OWN);
}

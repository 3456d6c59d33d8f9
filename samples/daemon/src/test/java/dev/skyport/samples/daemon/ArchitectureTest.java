package dev.skyport.samples.daemon;

import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;

import static com.tngtech.archunit.base.DescribedPredicate.not;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAPackage;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAnyPackage;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

/**
 * Samples show users how to use Sky Port, so they use only what users can: public types, never another module's
 * internals. Printing to the console is what samples are for, so the standard-stream rule does not apply here. The one
 * exception is the {@code /api/v1} JSON codec in skyport-client's {@code internal.wire}: the daemon and the client
 * share it on purpose so that the two sides of the wire cannot drift (docs: wire contract), and it is no one else's.
 */
@AnalyzeClasses(packages = "dev.skyport.samples.daemon", importOptions = ImportOption.DoNotIncludeTests.class)
class ArchitectureTest {
    private static final String OWN = "dev.skyport.samples.daemon";

    @ArchTest
    static final ArchRule doesNotUseOtherModulesInternals = noClasses().that().resideInAPackage(OWN + "..")
            .should().dependOnClassesThat(resideInAPackage("dev.skyport..internal..")
                    .and(not(resideInAnyPackage(OWN + "..", "dev.skyport.client.internal.wire.."))))
            .because("a module's internal packages are its own; the daemon shares only the client's wire codec");
}

package dev.skyport.samples.bench;

import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;

import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAPackage;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.base.DescribedPredicate.not;


/**
 * Samples show users how to use Sky Port, so they use only what users can: public types, never another module's
 * internals. Printing to the console is what samples are for, so the standard-stream rule does not apply here.
 *
 * <p>One exception: {@link SshTransferBenchmark} measures the SSH transport itself, below any gate, and so reaches
 * skyport-core's {@code internal.ssh} package. Nothing else may.
 */
@AnalyzeClasses(packages = "dev.skyport.samples.bench", importOptions = ImportOption.DoNotIncludeTests.class)
class ArchitectureTest {
    private static final String OWN = "dev.skyport.samples.bench";

    @ArchTest
    static final ArchRule doesNotUseOtherModulesInternals = noClasses().that().resideInAPackage(OWN + "..")
            .and().doNotHaveFullyQualifiedName(SshTransferBenchmark.class.getName())
            .should().dependOnClassesThat(resideInAPackage("dev.skyport..internal..")
                    .and(not(resideInAPackage(OWN + ".."))))
            .because("a module's internal packages are its own; others use its public types or a ServiceLoader SPI");

    @ArchTest
    static final ArchRule theTransferBenchmarkUsesOnlyTheSshTransport = noClasses()
            .that().haveFullyQualifiedName(SshTransferBenchmark.class.getName())
            .should().dependOnClassesThat(resideInAPackage("dev.skyport..internal..")
                    .and(not(resideInAPackage("dev.skyport.core.internal.ssh"))))
            .because("the transfer benchmark measures the SSH transport and nothing else of the engine");
}

package dev.skyport.samples.notebook;

import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;
import dev.skyport.api.ArchitectureRules;

/**
 * Samples show users how to use Sky Port, so they use only what users can: public types, never another module's
 * internals. Printing to the console is what samples are for (and a kernel's cells print to the notebook), so the
 * standard-stream rule does not apply here.
 */
@AnalyzeClasses(packages = "dev.skyport.samples.notebook", importOptions = ImportOption.DoNotIncludeTests.class)
class ArchitectureTest {
    private static final String OWN = "dev.skyport.samples.notebook";

    @ArchTest
    static final ArchRule doesNotUseOtherModulesInternals = ArchitectureRules.doesNotUseOtherModulesInternals(OWN);

    @ArchTest
    static final ArchRule doesNotUseJavaUtilLogging = ArchitectureRules.doesNotUseJavaUtilLogging(OWN);
}

package dev.skyport.api;

import com.tngtech.archunit.lang.ArchRule;

import static com.tngtech.archunit.base.DescribedPredicate.not;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAPackage;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.GeneralCodingRules.NO_CLASSES_SHOULD_ACCESS_STANDARD_STREAMS;

/**
 * The architecture rules every module's {@code ArchitectureTest} applies to its own root package. Shipped in the
 * skyport-api test-jar so each rule is written once.
 */
public final class ArchitectureRules {
    private ArchitectureRules() {
    }

    /** Classes under {@code own} use no other module's {@code internal} packages. */
    public static ArchRule doesNotUseOtherModulesInternals(String own) {
        return noClasses().that().resideInAPackage(own + "..")
                .should().dependOnClassesThat(resideInAPackage("dev.skyport..internal..")
                        .and(not(resideInAPackage(own + ".."))))
                .because("a module's internal packages are its own; others use its public types or a ServiceLoader SPI");
    }

    /**
     * No use of java.util.logging at all. (GeneralCodingRules.NO_CLASSES_SHOULD_USE_JAVA_UTIL_LOGGING only catches a
     * Logger stored in a field, not {@code Logger.getLogger(...).info(...)} inline.)
     */
    public static ArchRule doesNotUseJavaUtilLogging(String own) {
        return noClasses().that().resideInAPackage(own + "..")
                .should().dependOnClassesThat().resideInAPackage("java.util.logging..")
                .because("library code logs through SLF4J (or not at all), never through java.util.logging");
    }

    /** Library code never writes to the embedding application's console. */
    public static ArchRule doesNotWriteToStandardStreams() {
        return NO_CLASSES_SHOULD_ACCESS_STANDARD_STREAMS
                .because("a library must not write to the embedding application's console");
    }
}

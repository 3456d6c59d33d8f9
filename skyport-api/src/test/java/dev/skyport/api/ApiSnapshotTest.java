package dev.skyport.api;

import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.domain.JavaModifier;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.reflect.Constructor;
import java.lang.reflect.Executable;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The public API is frozen in {@code src/test/resources/api-snapshot.txt} (OkHttp's API dump, in small): an
 * accidental change to a public type or signature fails the build. After a deliberate change, regenerate with
 * {@code mvn -pl skyport-api test -Dtest=ApiSnapshotTest -Dskyport.updateApiSnapshot=true} and commit the file.
 */
class ApiSnapshotTest {
    private static final Path SNAPSHOT = Path.of("src/test/resources/api-snapshot.txt");

    @Test
    void thePublicApiMatchesTheSnapshot() throws IOException {
        String actual = String.join("\n", describe()) + "\n";
        if (Boolean.getBoolean("skyport.updateApiSnapshot")) {
            Files.writeString(SNAPSHOT, actual, StandardCharsets.UTF_8);
        }
        Path dump = Path.of("target/api-snapshot.actual.txt");
        Files.createDirectories(dump.getParent());
        Files.writeString(dump, actual, StandardCharsets.UTF_8);
        assertThat(actual).as("public API changed; compare %s with %s and regenerate if intended", dump, SNAPSHOT)
                .isEqualTo(Files.readString(SNAPSHOT, StandardCharsets.UTF_8));
    }

    private static List<String> describe() {
        JavaClasses classes = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("dev.skyport.api");
        List<String> blocks = new ArrayList<>();
        for (JavaClass jc : classes) {
            List<String> lines = new ArrayList<>();
            if (!jc.getModifiers().contains(JavaModifier.PUBLIC) || jc.isAnonymousClass()) {
                continue;
            }
            Class<?> c = jc.reflect();
            if (c.getEnclosingClass() != null && !Modifier.isPublic(c.getModifiers())) {
                continue;
            }
            String header = kind(c) + " " + c.getName()
                    + (c.getSuperclass() != null && c.getSuperclass() != Object.class && !c.isEnum() && !c.isRecord()
                    ? " extends " + c.getSuperclass().getName() : "")
                    + (c.getInterfaces().length > 0 ? " implements " + Arrays.stream(c.getInterfaces())
                    .map(Class::getName).sorted().collect(Collectors.joining(", ")) : "");
            for (Field f : c.getDeclaredFields()) {
                if (Modifier.isPublic(f.getModifiers())) {
                    lines.add("  field " + c.getName() + "." + f.getName() + " : " + f.getGenericType().getTypeName());
                }
            }
            for (Constructor<?> k : c.getDeclaredConstructors()) {
                if (Modifier.isPublic(k.getModifiers())) {
                    lines.add("  new " + c.getName() + params(k));
                }
            }
            for (Method m : c.getDeclaredMethods()) {
                if (Modifier.isPublic(m.getModifiers()) && !m.isSynthetic() && !m.isBridge()) {
                    lines.add("  " + (Modifier.isStatic(m.getModifiers()) ? "static " : "")
                            + m.getGenericReturnType().getTypeName() + " " + c.getName() + "." + m.getName()
                            + params(m));
                }
            }
            blocks.add(header + "\n" + lines.stream().sorted().map(l -> l + "\n").collect(Collectors.joining()));
        }
        return blocks.stream().sorted().map(String::strip).toList();
    }

    private static String kind(Class<?> c) {
        return c.isRecord() ? "record" : c.isEnum() ? "enum" : c.isInterface() ? "interface" : "class";
    }

    private static String params(Executable e) {
        return Arrays.stream(e.getGenericParameterTypes()).map(java.lang.reflect.Type::getTypeName)
                .collect(Collectors.joining(", ", "(", ")"));
    }
}

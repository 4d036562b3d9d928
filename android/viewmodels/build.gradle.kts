// The view models: plain Kotlin/JVM (no Android), over the generated UniFFI bindings.
// CI compiles and tests the same sources with scripts/kotlin-tests.sh (no Gradle there).
import org.jetbrains.kotlin.gradle.dsl.JvmTarget

plugins {
    alias(libs.plugins.kotlin.jvm)
}

val repo: File = rootProject.projectDir.parentFile
val bindingsDir = repo.resolve("target/bindings/kotlin")

// The Kotlin bindings are generated from the host build of the core (library mode):
// scripts/gen-bindings.sh runs `cargo build -p takedown-ffi -p uniffi-bindgen` and
// `uniffi-bindgen generate … --language kotlin` into target/bindings/kotlin.
val generateBindings by tasks.registering(Exec::class) {
    group = "takedown"
    description = "Builds the Rust core for the host and generates its Kotlin bindings"
    workingDir = repo
    commandLine("bash", "scripts/gen-bindings.sh")
    inputs.dir(repo.resolve("core"))
    outputs.dir(bindingsDir)
}

kotlin {
    jvmToolchain(17)
    compilerOptions { jvmTarget.set(JvmTarget.JVM_17) }
    sourceSets["main"].kotlin.srcDir(bindingsDir)
}

tasks.named("compileKotlin") { dependsOn(generateBindings) }

dependencies {
    api(libs.kotlinx.coroutines.core)
    // JNA: the app brings the Android AAR, the tests the JVM jar.
    compileOnly(libs.jna)
    testImplementation(libs.jna)
    testImplementation(libs.junit)
}

// The tests need the host library and a running service (scripts/test-service.sh):
//   source scripts/test-service.sh && gradle :viewmodels:test
tasks.test {
    systemProperty("jna.library.path", repo.resolve("target/debug").path)
    systemProperty("takedown.fixtures", repo.resolve("tests/fixtures").path)
    systemProperty("takedown.res", rootProject.projectDir.resolve("app/src/main/res").path)
    System.getenv("TAKEDOWN_TEST_SERVICE_URL")?.let { systemProperty("takedown.service", it) }
    System.getenv("TAKEDOWN_TEST_PLATFORM_KEY")?.let { systemProperty("takedown.platformKey", it) }
}

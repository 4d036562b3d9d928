// The Android app: a thin Compose layer over :viewmodels, plus the platform glue.
// The Rust core is built for the phone ABIs with cargo-ndk (see android/README.md).
plugins {
    alias(libs.plugins.android.application)
    alias(libs.plugins.kotlin.android)
    alias(libs.plugins.kotlin.compose)
}

val repo: File = rootProject.projectDir.parentFile
val jniLibsDir = layout.buildDirectory.dir("generated/jniLibs")
val abis = listOf("arm64-v8a", "armeabi-v7a", "x86_64")

// libtakedown_core.so for every ABI, with the NDK (ANDROID_NDK_HOME or the SDK's ndk/).
// `cargo install cargo-ndk` and `rustup target add aarch64-linux-android armv7-linux-androideabi x86_64-linux-android` once.
val cargoNdkBuild by tasks.registering(Exec::class) {
    group = "takedown"
    description = "Builds the Rust core (takedown-ffi) for ${abis.joinToString()} with cargo-ndk"
    workingDir = repo
    val out = jniLibsDir.get().asFile
    commandLine(
        listOf("cargo", "ndk") + abis.flatMap { listOf("-t", it) } +
            listOf("--platform", "29", "-o", out.path, "build", "--release", "-p", "takedown-ffi"),
    )
    inputs.dir(repo.resolve("core"))
    inputs.file(repo.resolve("Cargo.lock"))
    outputs.dir(out)
}

android {
    namespace = "org.takedown.app"
    compileSdk = 35

    defaultConfig {
        applicationId = "org.takedown.app"
        // ImageDecoder (28), ContentResolver.loadThumbnail (29).
        minSdk = 29
        targetSdk = 35
        versionCode = 1
        versionName = "0.1.0"
        ndk { abiFilters += abis }
        // The hash-list service (https only; pass -Ptakedown.serviceUrl=… to build for another).
        val serviceUrl = (project.findProperty("takedown.serviceUrl") as String?) ?: "https://takedown.example.org"
        buildConfigField("String", "SERVICE_URL", "\"$serviceUrl\"")
    }

    buildTypes {
        release {
            isMinifyEnabled = true
            isShrinkResources = true
            proguardFiles(getDefaultProguardFile("proguard-android-optimize.txt"), "proguard-rules.pro")
        }
    }

    sourceSets["main"].jniLibs.srcDir(jniLibsDir)

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
    kotlinOptions { jvmTarget = "17" }
    buildFeatures {
        compose = true
        buildConfig = true
    }
    packaging { jniLibs.useLegacyPackaging = false }
}

tasks.named("preBuild") { dependsOn(cargoNdkBuild) }

dependencies {
    implementation(project(":viewmodels"))
    implementation("${libs.jna.get()}@aar")
    implementation(libs.kotlinx.coroutines.android)
    implementation(platform(libs.compose.bom))
    implementation(libs.compose.ui)
    implementation(libs.compose.material3)
    implementation(libs.compose.ui.tooling.preview)
    implementation(libs.activity.compose)
    implementation(libs.lifecycle.viewmodel.compose)
    implementation(libs.lifecycle.runtime.compose)
    implementation(libs.lifecycle.process)
    implementation(libs.biometric)
    implementation(libs.work.runtime.ktx)
    implementation(libs.zxing.core)
}

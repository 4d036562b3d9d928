// The Takedown Android project: the Compose app and its pure-JVM view models.
// Open this folder (android/) in Android Studio. The Rust core lives one level up.
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}

dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}

rootProject.name = "takedown-android"
include(":app", ":viewmodels")

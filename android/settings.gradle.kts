// The Chatflow Android library (AAR). A single-module build: this directory is the library project.
// Requires the Android SDK + NDK and a Rust toolchain with cargo-ndk: see README.md.
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}

dependencyResolutionManagement {
    repositories {
        google()
        mavenCentral()
    }
}

rootProject.name = "chatflow-android"

// The Chatflow Android library: the Rust core (chatflow-ffi) cross-compiled with cargo-ndk, the Kotlin bindings
// generated from that library by the workspace's uniffi-bindgen, and the handwritten Kotlin facade (io.chatflow).
//
//   ./gradlew assembleRelease            build/outputs/aar/chatflow-android-release.aar
//   ./gradlew publishReleasePublicationToLocalRepository   build/repo/io/chatflow/chatflow-android/<version>/
//   ./gradlew testDebugUnitTest          JVM tests against the host-built library and the real server
//
// Needs: Android SDK (compileSdk 35) + NDK, rustup targets aarch64-linux-android, armv7-linux-androideabi,
// x86_64-linux-android, and `cargo install cargo-ndk`. See README.md.
import org.jetbrains.kotlin.gradle.dsl.JvmTarget

plugins {
    id("com.android.library") version "8.7.3"
    id("org.jetbrains.kotlin.android") version "2.1.20"
    `maven-publish`
}

group = providers.gradleProperty("chatflow.group").get()
version = providers.gradleProperty("chatflow.version").get()

/** The cargo workspace (this directory's parent). */
val repoRoot: File = rootDir.parentFile
val abis: List<String> = providers.gradleProperty("chatflow.abis").get().split(",").map { it.trim() }
val cargoProfile: String = providers.gradleProperty("chatflow.cargoProfile").getOrElse("release")
val rustJniLibs = layout.buildDirectory.dir("rustJniLibs")
val uniffiKotlin = layout.buildDirectory.dir("generated/uniffi/kotlin")
val rustSources = fileTree(repoRoot) {
    include("Cargo.toml", "Cargo.lock", "core/**/*.rs", "core/**/*.sql", "core/**/Cargo.toml", "bindings/**")
    exclude("**/target/**")
}

// ------------------------------------------------------------------------------------------------- Rust tasks

/** Cross-compiles chatflow-ffi for every ABI into build/rustJniLibs/<abi>/libchatflow_ffi.so. */
val cargoNdkBuild by tasks.registering(Exec::class) {
    group = "rust"
    description = "Builds libchatflow_ffi.so for ${abis.joinToString()} with cargo-ndk ($cargoProfile profile)."
    workingDir = repoRoot
    inputs.files(rustSources)
    inputs.property("abis", abis)
    inputs.property("profile", cargoProfile)
    outputs.dir(rustJniLibs)
    val args = mutableListOf("cargo", "ndk", "--platform", "24", "-o", rustJniLibs.get().asFile.path)
    abis.forEach { args += listOf("-t", it) }
    args += listOf("build", "--locked", "--profile", cargoProfile, "-p", "chatflow-ffi")
    commandLine(args)
}

/** Generates the Kotlin bindings from the built arm64 library (UniFFI library mode). */
val generateUniffiKotlin by tasks.registering(Exec::class) {
    group = "rust"
    description = "Generates the UniFFI Kotlin bindings into build/generated/uniffi/kotlin."
    dependsOn(cargoNdkBuild)
    workingDir = repoRoot
    val library = rustJniLibs.get().file("${abis.first()}/libchatflow_ffi.so").asFile
    inputs.file(library)
    inputs.file(File(repoRoot, "bindings/ffi/uniffi.toml"))
    outputs.dir(uniffiKotlin)
    doFirst { delete(uniffiKotlin) }
    commandLine(
        "cargo", "run", "--locked", "-p", "uniffi-bindgen", "--bin", "uniffi-bindgen", "--",
        "generate", "--library", library.path, "--language", "kotlin", "--no-format",
        "--out-dir", uniffiKotlin.get().asFile.path,
    )
}

/** The host library and server for the JVM unit tests. */
val cargoHostBuild by tasks.registering(Exec::class) {
    group = "rust"
    description = "Builds the host libchatflow_ffi.so and chatflow-server (dev profile) for the JVM tests."
    workingDir = repoRoot
    inputs.files(rustSources)
    outputs.files(File(repoRoot, "target/debug/libchatflow_ffi.so"), File(repoRoot, "target/debug/chatflow-server"))
    commandLine("cargo", "build", "--locked", "-p", "chatflow-ffi", "-p", "chatflow-server")
}

android {
    namespace = "io.chatflow"
    compileSdk = 35

    defaultConfig {
        minSdk = 24
        consumerProguardFiles("consumer-rules.pro")
    }

    sourceSets {
        getByName("main") {
            // src/main/kotlin: the facade, shared with the plain-JVM test build (scripts/bindings.sh kotlin);
            // src/androidMain/kotlin: Android-only pieces (device metadata, Logcat, Context helpers).
            kotlin.srcDirs("src/main/kotlin", "src/androidMain/kotlin", uniffiKotlin)
            jniLibs.srcDir(rustJniLibs)
        }
        getByName("test") {
            kotlin.srcDirs("src/test/kotlin")
        }
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }

    buildTypes {
        release {
            isMinifyEnabled = false
        }
    }

    publishing {
        singleVariant("release") {
            withSourcesJar()
        }
    }

    testOptions {
        unitTests.all { test ->
            // JVM unit tests load the *host* library (JNA) and start the real server, like scripts/bindings.sh.
            test.dependsOn(cargoHostBuild)
            test.systemProperty("jna.library.path", File(repoRoot, "target/debug").path)
            test.environment("CHATFLOW_SERVER_BIN", File(repoRoot, "target/debug/chatflow-server").path)
            test.environment("CHATFLOW_SEED", File(repoRoot, "server/seeds/test.json").path)
            test.environment("CHATFLOW_FIXTURES", File(repoRoot, "tests/bindings/fixtures").path)
        }
    }
}

kotlin {
    compilerOptions {
        jvmTarget.set(JvmTarget.JVM_17)
    }
}

dependencies {
    // The facade exposes Flow and suspend functions.
    api("org.jetbrains.kotlinx:kotlinx-coroutines-core:1.10.2")
    // JNA with its Android native dispatch libraries (the @aar artifact), as UniFFI's generated code requires.
    implementation("net.java.dev.jna:jna:5.17.0@aar")

    // Host JVM tests: the plain JNA jar carries the desktop dispatch library.
    testImplementation("net.java.dev.jna:jna:5.17.0")
    testImplementation("org.jetbrains.kotlin:kotlin-test-junit:2.1.20")
    testImplementation("junit:junit:4.13.2")
}

tasks.named("preBuild") { dependsOn(generateUniffiKotlin) }

// ------------------------------------------------------------------------------------------------- publication

publishing {
    publications {
        register<MavenPublication>("release") {
            groupId = project.group.toString()
            artifactId = "chatflow-android"
            version = project.version.toString()
            afterEvaluate { from(components["release"]) }
            pom {
                name.set("Chatflow Android SDK")
                description.set("In-app support chat: native Rust core (offline queue, realtime, knowledge base) with a Kotlin API.")
                url.set("https://github.com/chatflow/chatflow")
                licenses {
                    license {
                        name.set("Apache-2.0")
                        url.set("https://www.apache.org/licenses/LICENSE-2.0")
                    }
                }
                developers {
                    developer {
                        id.set("chatflow")
                        name.set("The Chatflow authors")
                    }
                }
                scm {
                    url.set("https://github.com/chatflow/chatflow")
                }
            }
        }
    }
    repositories {
        maven {
            name = "local"
            url = uri(layout.buildDirectory.dir("repo"))
        }
    }
}

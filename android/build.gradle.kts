// The Chatflow Android library: the Rust core (chatflow-ffi) cross-compiled per ABI, the Kotlin bindings generated
// from that library by the workspace's uniffi-bindgen, and the handwritten Kotlin facade (io.chatflow).
// Every native step runs android/build.sh (the same script the test command runs for the host target).
//
//   ./gradlew assembleRelease            build/outputs/aar/chatflow-android-release.aar, then verifyReleaseAar
//   ./gradlew publishReleasePublicationToLocalRepository   build/repo/io/chatflow/chatflow-android/<version>/
//   ./gradlew testDebugUnitTest          JVM tests against the host-built library and the real server
//
// Needs: Android SDK (compileSdk 35) + NDK (ANDROID_NDK_HOME), rustup targets aarch64-linux-android,
// armv7-linux-androideabi, x86_64-linux-android, and `cargo install cargo-ndk`. See README.md.
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
val pipelineScript = File(repoRoot, "android/build.sh")
val abis: List<String> = providers.gradleProperty("chatflow.abis").get().split(",").map { it.trim() }
val jnaVersion = "5.17.0"
/** android/build.sh's output directory (CHATFLOW_ANDROID_OUT): unstripped/, kotlin/, jniLibs/. */
val rustOut = layout.buildDirectory.dir("rust")
val rustUnstripped = rustOut.map { it.dir("unstripped") }
val rustJniLibs = rustOut.map { it.dir("jniLibs") }
val uniffiKotlin = rustOut.map { it.dir("kotlin") }
val rustSources = fileTree(repoRoot) {
    include("Cargo.toml", "Cargo.lock", ".cargo/config.toml", "core/**/*.rs", "core/**/*.sql", "core/**/Cargo.toml", "bindings/**")
    exclude("**/target/**")
}

/** Runs one step of android/build.sh from the workspace root, writing into build/rust. */
fun Exec.pipeline(vararg args: String) {
    group = "rust"
    workingDir = repoRoot
    environment("CHATFLOW_ANDROID_OUT", rustOut.get().asFile.path)
    commandLine(listOf("bash", pipelineScript.path) + args)
}

// ------------------------------------------------------------------------------------------------- Rust tasks

/** Builds libchatflow_ffi.so with symbols for every ABI (cargo-ndk) into build/rust/unstripped/<abi>/. */
val cargoNdkBuild by tasks.registering(Exec::class) {
    description = "Builds libchatflow_ffi.so for ${abis.joinToString()} (android/build.sh native)."
    inputs.files(rustSources)
    inputs.file(pipelineScript)
    inputs.property("abis", abis)
    outputs.dir(rustUnstripped)
    pipeline("native", *abis.toTypedArray())
}

/** The TLS platform verifier's Kotlin half, from the crate Cargo.lock pins; bundled in the AAR (libs/). */
val platformVerifierJar = rustOut.map { it.file("platform-verifier/rustls-platform-verifier.jar") }
val extractPlatformVerifier by tasks.registering(Exec::class) {
    description = "Extracts org.rustls.platformverifier classes for the AAR (android/build.sh verifier-jar)."
    inputs.file(File(repoRoot, "Cargo.lock"))
    outputs.file(platformVerifierJar)
    pipeline("verifier-jar", platformVerifierJar.get().asFile.path)
}

/** Generates the Kotlin bindings from the first ABI's unstripped library (UniFFI reads the symbol table). */
val generateUniffiKotlin by tasks.registering(Exec::class) {
    description = "Generates the UniFFI Kotlin bindings into build/rust/kotlin (android/build.sh bindings)."
    dependsOn(cargoNdkBuild)
    inputs.dir(rustUnstripped)
    inputs.file(File(repoRoot, "bindings/ffi/uniffi.toml"))
    outputs.dir(uniffiKotlin)
    pipeline("bindings")
}

/** Strips the libraries that ship into build/rust/jniLibs/<abi>/ (the AAR's jni/). */
val stripRustLibs by tasks.registering(Exec::class) {
    description = "Strips libchatflow_ffi.so into build/rust/jniLibs (android/build.sh strip)."
    dependsOn(cargoNdkBuild)
    inputs.dir(rustUnstripped)
    outputs.dir(rustJniLibs)
    pipeline("strip")
}

/** Checks the built AAR: layout, stripped 16 KB-page libraries from the bindings' build, consumer rules. */
val verifyReleaseAar by tasks.registering(Exec::class) {
    description = "Checks build/outputs/aar/chatflow-android-release.aar (android/build.sh verify)."
    dependsOn("bundleReleaseAar")
    // The rules name JNA classes: check them against the JNA jar the AAR depends on.
    val jna = project.configurations.detachedConfiguration(
        project.dependencies.create("net.java.dev.jna:jna:$jnaVersion"),
    )
    doFirst { environment("JNA_JAR", jna.singleFile.path) }
    pipeline("verify", layout.buildDirectory.file("outputs/aar/chatflow-android-release.aar").get().asFile.path)
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
    // 5.17.0 is the first whose Android libjnidispatch.so loads on 16 KB-page devices (README.md).
    implementation("net.java.dev.jna:jna:$jnaVersion@aar")
    // The TLS platform verifier's Kotlin half: the native library calls it through JNI (docs/decisions.md #3).
    implementation(files(platformVerifierJar).builtBy(extractPlatformVerifier))
    // Background / foreground (ChatflowLifecycle, src/androidMain): the process lifecycle and the flush worker.
    implementation("androidx.lifecycle:lifecycle-process:2.8.7")
    implementation("androidx.work:work-runtime-ktx:2.10.0")
    // Dispatchers.Main on Android (the lifecycle glue runs its coroutines there).
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.10.2")

    // Host JVM tests: the plain JNA jar carries the desktop dispatch library.
    testImplementation("net.java.dev.jna:jna:$jnaVersion")
    testImplementation("org.jetbrains.kotlin:kotlin-test-junit:2.1.20")
    testImplementation("junit:junit:4.13.2")
}

tasks.named("preBuild") { dependsOn(generateUniffiKotlin, stripRustLibs) }
tasks.matching { it.name == "assembleRelease" }.configureEach { finalizedBy(verifyReleaseAar) }

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

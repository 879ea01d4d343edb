//! Android only: the platform TLS verifier asks Android's `X509TrustManager` (system, user and MDM CAs,
//! `network_security_config`) through JNI, so it needs the JVM and the app's `Context` before the first connection.
//! The Kotlin facade (`AndroidPlatformTrust`, `src/androidMain`) calls this once from
//! `ChatflowClient.open(context, …)`.
//! A plain JNI entry point rather than a UniFFI export: UniFFI's JNA calls carry no `JNIEnv`.

use jni::errors::ThrowRuntimeExAndDefault;
use jni::objects::{JClass, JObject};
use jni::EnvUnowned;

/// `io.chatflow.AndroidPlatformTrust.nativeInit(context)`; idempotent (later calls keep the first context). A failure
/// is thrown to Kotlin as a `RuntimeException`; a panic never unwinds into the JVM.
#[no_mangle]
pub extern "system" fn Java_io_chatflow_AndroidPlatformTrust_nativeInit<'caller>(
    mut unowned: EnvUnowned<'caller>,
    _class: JClass<'caller>,
    context: JObject<'caller>,
) {
    unowned
        .with_env(|env| -> jni::errors::Result<()> { rustls_platform_verifier::android::init_with_env(env, context) })
        .resolve::<ThrowRuntimeExAndDefault>()
}

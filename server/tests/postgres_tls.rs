//! TLS to PostgreSQL (the real binary, a throwaway cluster that refuses plaintext, a
//! self-signed certificate naming `localhost`): each libpq `sslmode` connects when it should
//! and refuses to start when the server cannot be trusted as it asks.

mod common;

use {
    common::{
        binary::ServerProcess,
        client::{change_set, read_log, Client},
        pg_cluster::PgCluster,
    },
    idbsql::{engine::Engine, protocol::messages::ServerMessage},
    std::path::Path,
};

fn url(cluster: &PgCluster, host: &str, options: &str) -> String {
    format!(
        "postgres://postgres@{host}:{}/postgres?connect_timeout=5&{options}",
        cluster.port
    )
}

/// The server starts on `url` and its log works: a push is acknowledged and read back.
async fn works(data: &Path, url: &str) {
    let server = ServerProcess::start(data, &["--postgres", url], &[]);
    let database = format!("db{}", uuid::Uuid::new_v4().simple());
    let (mut client, _) = Client::hello(server.addr, &database, 1, "", 0).await;
    let mut engine = Engine::default();
    let create = change_set(&mut engine, "CREATE TABLE t (id INTEGER PRIMARY KEY)");
    assert!(
        matches!(client.push(1, create).await, ServerMessage::Ack { .. }),
        "{url}"
    );
    assert_eq!(read_log(server.addr, &database).await.len(), 1, "{url}");
}

/// The server refuses to start on `url`, saying something containing `why`.
fn refused(data: &Path, url: &str, why: &str) {
    let (succeeded, stderr) = ServerProcess::refused(data, &["--postgres", url]);
    assert!(!succeeded, "{url} started");
    assert!(
        stderr.to_lowercase().contains(why),
        "{url}: expected '{why}' in: {stderr}"
    );
}

#[tokio::test]
async fn each_sslmode_connects_over_tls_or_refuses_an_untrusted_server() {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])
        .expect("a self-signed certificate");
    let certificate = certified.cert.pem();
    let cluster = PgCluster::start_tls_only(&certificate, &certified.signing_key.serialize_pem());
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root.pem");
    std::fs::write(&root, &certificate).unwrap();
    let root = format!("sslrootcert={}", root.display());
    let data = dir.path().join("data");

    // The certificate checked all the way: trusted root and the host's name.
    works(
        &data,
        &url(
            &cluster,
            "localhost",
            &format!("sslmode=verify-full&{root}"),
        ),
    )
    .await;
    // The chain only: the name (127.0.0.1) is not in the certificate.
    works(
        &data,
        &url(&cluster, "127.0.0.1", &format!("sslmode=verify-ca&{root}")),
    )
    .await;
    // Encrypted, server not checked (as libpq without a root certificate).
    works(&data, &url(&cluster, "127.0.0.1", "sslmode=require")).await;
    // libpq's default, prefer: TLS when the server offers it, as this one does.
    works(&data, &url(&cluster, "127.0.0.1", "")).await;

    // The cluster takes no plaintext: what worked above went over TLS.
    refused(
        &data,
        &url(&cluster, "127.0.0.1", "sslmode=disable"),
        "no encryption",
    );
    // Not the name in the certificate.
    refused(
        &data,
        &url(
            &cluster,
            "127.0.0.1",
            &format!("sslmode=verify-full&{root}"),
        ),
        "certificate",
    );
    // A self-signed certificate no system root vouches for.
    refused(
        &data,
        &url(&cluster, "localhost", "sslmode=verify-full"),
        "certificate",
    );
    refused(
        &data,
        &url(
            &cluster,
            "localhost",
            "sslmode=verify-full&sslrootcert=/nonexistent.pem",
        ),
        "/nonexistent.pem",
    );
}

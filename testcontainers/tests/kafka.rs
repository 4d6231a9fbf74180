//! [`KafkaBroker`] against the real tansu binary.

use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};
use sluice_testcontainers::kafka::{partition_count, read_topic, Isolation, KafkaBroker};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tansu_serves_topics_and_restarts_empty() -> anyhow::Result<()> {
    let broker = KafkaBroker::start()?;
    let topic = KafkaBroker::unique_topic("fixture");
    assert_eq!(partition_count(broker.bootstrap_servers(), &topic)?, 0);
    broker.create_topic(&topic, 2).await?;
    assert_eq!(partition_count(broker.bootstrap_servers(), &topic)?, 2);

    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap_servers())
        .set("enable.idempotence", "true")
        .create()?;
    for i in 0..10 {
        let key = format!("k{}", i % 3);
        let value = format!("v{i}");
        producer
            .send(
                FutureRecord::to(&topic).key(&key).payload(&value),
                Duration::from_secs(10),
            )
            .await
            .map_err(|(e, _)| e)?;
    }
    let read = read_topic(
        broker.bootstrap_servers(),
        &topic,
        10,
        Isolation::ReadUncommitted,
    )
    .await?;
    assert_eq!(read.len(), 10);

    if broker.is_external() {
        return Ok(());
    }
    // Memory storage: a restarted broker answers on the same port but has forgotten
    // everything (see the module docs of sluice_testcontainers::kafka).
    broker.stop()?;
    broker.start_again()?;
    assert_eq!(partition_count(broker.bootstrap_servers(), &topic)?, 0);
    Ok(())
}

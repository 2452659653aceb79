//! Publishes one 200-byte JSON message with plain reqwest.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("QSTASH_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    let token = std::env::var("QSTASH_TOKEN").unwrap_or_else(|_| "dev-token".into());
    // Serializes to exactly 200 bytes.
    let body = serde_json::json!({
        "event": "order.created",
        "order_id": 42,
        "customer": "acme",
        "items": [{"sku": "A-1", "qty": 2}, {"sku": "B-7", "qty": 1}],
        "note": "Leave the parcel at the front desk of building B-2; ring twice and ask for Sam.",
    });
    let response = reqwest::Client::new()
        .post(format!(
            "{}/v2/publish/https://example.com/hook",
            url.trim_end_matches('/')
        ))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await?
        .error_for_status()?;
    println!("{}", response.text().await?);
    Ok(())
}

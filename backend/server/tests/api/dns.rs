//! A DNS server for the tests: it answers TXT queries over UDP on loopback
//! from records a test publishes and removes, the way an org's DNS would.
//! `ATTEST_DNS_RESOLVER` points Attest at it.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use hickory_proto::{
    op::{Message, MessageType, ResponseCode},
    rr::{rdata::TXT, RData, Record},
};
use tokio::net::UdpSocket;

type Zone = Arc<Mutex<HashMap<String, Vec<String>>>>;

pub struct Dns {
    pub addr: SocketAddr,
    zone: Zone,
    server: tokio::task::JoinHandle<()>,
}

impl Dns {
    pub async fn start() -> Dns {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = socket.local_addr().unwrap();
        let zone = Zone::default();
        let server = tokio::spawn(serve(socket, zone.clone()));
        Dns { addr, zone, server }
    }

    /// Publishes `values` as the TXT records at `name`, replacing any.
    pub fn publish(&self, name: &str, values: &[&str]) {
        let values = values.iter().map(|v| (*v).to_owned()).collect();
        self.zone.lock().unwrap().insert(key(name), values);
    }

    pub fn remove(&self, name: &str) {
        self.zone.lock().unwrap().remove(&key(name));
    }
}

impl Drop for Dns {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn key(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

async fn serve(socket: UdpSocket, zone: Zone) {
    let mut buf = vec![0u8; 4096];
    loop {
        let Ok((len, peer)) = socket.recv_from(&mut buf).await else {
            return;
        };
        let Ok(query) = Message::from_vec(&buf[..len]) else {
            continue;
        };
        let answer = answer(&query, &zone);
        if let Ok(bytes) = answer.to_vec() {
            let _ = socket.send_to(&bytes, peer).await;
        }
    }
}

/// The authoritative answer: the TXT records at the name, or NXDOMAIN.
fn answer(query: &Message, zone: &Zone) -> Message {
    let mut answer = Message::response(query.metadata.id, query.metadata.op_code);
    answer.metadata.message_type = MessageType::Response;
    answer.metadata.authoritative = true;
    answer.metadata.recursion_desired = query.metadata.recursion_desired;
    answer.queries = query.queries.clone();
    let Some(question) = query.queries.first() else {
        answer.metadata.response_code = ResponseCode::FormErr;
        return answer;
    };
    let records = zone
        .lock()
        .unwrap()
        .get(&key(&question.name().to_string()))
        .cloned();
    match records {
        Some(values) => {
            for value in values {
                let rdata = RData::TXT(TXT::new(vec![value]));
                answer
                    .answers
                    .push(Record::from_rdata(question.name().clone(), 60, rdata));
            }
        }
        None => answer.metadata.response_code = ResponseCode::NXDomain,
    }
    answer
}

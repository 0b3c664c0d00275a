use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use roost_common::config::C2sConfig;

use super::{Admission, Ticket};

fn admission(total: usize, per_address: usize) -> Arc<Admission> {
    Admission::new(&C2sConfig {
        max_unauthenticated_connections: total,
        max_unauthenticated_per_address: per_address,
        ..C2sConfig::default()
    })
}

fn v4(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, last))
}

/// Whether the ticket was told to close, without waiting.
fn is_evicted(ticket: &mut Ticket) -> bool {
    ticket.evicted.try_recv().is_ok()
}

#[test]
fn an_address_over_its_share_is_refused_and_others_are_not() {
    let admission = admission(100, 2);
    let _a = admission.admit(v4(1)).expect("first");
    let _b = admission.admit(v4(1)).expect("second");
    assert!(admission.admit(v4(1)).is_none(), "third from one address");
    assert!(admission.admit(v4(2)).is_some(), "another address");
    let report = admission.take_report().expect("a refusal to report");
    assert_eq!((report.refused, report.evicted), (1, 0));
    assert_eq!(report.most_refused(), Some((v4(1), 1)));
    assert_eq!(admission.take_report(), None, "reported once");
}

#[test]
fn a_closed_or_authenticated_connection_gives_its_place_back() {
    let admission = admission(100, 1);
    let ticket = admission.admit(v4(1)).expect("first");
    assert!(admission.admit(v4(1)).is_none());
    drop(ticket);
    assert_eq!(admission.held(), 0);
    assert!(admission.admit(v4(1)).is_some(), "the place is free again");
}

#[test]
fn ipv6_addresses_count_per_64() {
    let admission = admission(100, 1);
    let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
    let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
    let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
    let _a = admission.admit(a).expect("first of the /64");
    assert!(admission.admit(b).is_none(), "same /64");
    assert!(admission.admit(other).is_some(), "another /64");
    // IPv4 mapped into IPv6 is the IPv4 address.
    let _v4 = admission.admit(v4(7)).expect("v4");
    let mapped = IpAddr::V6(Ipv4Addr::new(192, 0, 2, 7).to_ipv6_mapped());
    assert!(admission.admit(mapped).is_none());
}

#[test]
fn when_full_the_oldest_of_the_busiest_address_is_evicted() {
    let admission = admission(4, 10);
    let mut flood: Vec<Ticket> = (0..3).map(|_| admission.admit(v4(9)).unwrap()).collect();
    let mut real = admission.admit(v4(1)).expect("a real client");
    assert_eq!(admission.held(), 4);
    // A newcomer evicts the flood's oldest connection, not the real client
    // (older than the newcomer but from a quieter address).
    let _newcomer = admission.admit(v4(2)).expect("admitted by eviction");
    assert_eq!(admission.held(), 4);
    assert!(is_evicted(&mut flood[0]));
    assert!(!is_evicted(&mut flood[1]) && !is_evicted(&mut real));
    // An evicted ticket dropped later changes nothing.
    drop(flood.remove(0));
    assert_eq!(admission.held(), 4);
    assert_eq!(admission.take_report().expect("report").evicted, 1);
}

#[test]
fn a_flood_from_many_addresses_evicts_itself_before_a_real_client() {
    // 20 flood addresses, each opening 10 connections in a row with 5
    // places each, 50 places in all: the flood hits both limits, and the
    // real client from its own address holds.
    let admission = admission(50, 5);
    let mut real = admission.admit(v4(1)).expect("real client");
    let mut flood = Vec::new();
    let mut refused = 0;
    for i in 0..2000u32 {
        match admission.admit(v4(100 + (i / 10 % 20) as u8)) {
            Some(ticket) => flood.push(ticket),
            None => refused += 1,
        }
        assert!(admission.held() <= 50);
    }
    assert!(!is_evicted(&mut real), "the real client was evicted");
    let evicted = flood.iter_mut().map(is_evicted).filter(|&e| e).count();
    let report = admission.take_report().expect("report");
    assert_eq!(report.evicted as usize, evicted);
    assert_eq!(report.refused, refused);
    assert!(
        evicted > 0 && refused > 0,
        "{evicted} evicted, {refused} refused"
    );
}

#[test]
fn with_one_connection_per_address_the_oldest_goes_first() {
    let admission = admission(3, 10);
    let mut tickets: Vec<Ticket> = (1..=3).map(|i| admission.admit(v4(i)).unwrap()).collect();
    let _fourth = admission.admit(v4(4)).unwrap();
    assert!(is_evicted(&mut tickets[0]));
    assert!(!is_evicted(&mut tickets[1]) && !is_evicted(&mut tickets[2]));
    let _fifth = admission.admit(v4(5)).unwrap();
    assert!(is_evicted(&mut tickets[1]));
}

#[test]
fn the_report_names_the_limits() {
    let admission = admission(1, 1);
    let _a = admission.admit(v4(1)).unwrap();
    assert!(admission.admit(v4(1)).is_none());
    let _b = admission.admit(v4(2)).unwrap();
    let text = admission.take_report().unwrap().to_string();
    assert!(text.contains("1 connections refused"), "{text}");
    assert!(text.contains("most from 192.0.2.1: 1"), "{text}");
    assert!(
        text.contains("1 unauthenticated connections closed"),
        "{text}"
    );
    assert!(
        text.contains("c2s.max_unauthenticated_connections"),
        "{text}"
    );
}

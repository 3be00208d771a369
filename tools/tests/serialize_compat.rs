//! `regarena::serialize::SerializableFunction` has upstream regalloc2
//! 0.15.2's byte layout: every embedded sample file (written by upstream,
//! captured from Cranelift) reads back with regarena's type, describes the
//! same function, and writes back to the very same bytes; and a function
//! written by regarena reads with upstream's type. This is what lets the
//! `regalloc2` facade's `capture` feature write regalloc2-tool files.

use regarena::serialize::SerializableFunction;
use regarena::{Function, FunctionData};
use regarena_tools::corpus::SAMPLE_FILES;
use regarena_tools::upstream::{self, ra2};

#[test]
fn sample_files_round_trip_byte_for_byte() {
    assert!(SAMPLE_FILES.len() >= 30);
    for (name, bytes) in SAMPLE_FILES {
        let ours: SerializableFunction =
            bincode::deserialize(bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let again = bincode::serialize(&ours).unwrap();
        assert_eq!(
            &again[..],
            *bytes,
            "{name}: bytes differ after a round trip"
        );

        // The same function as upstream reads it.
        let up: ra2::serialize::SerializableFunction = bincode::deserialize(bytes).unwrap();
        assert_eq!(
            FunctionData::from_function(&ours),
            upstream::function(&up),
            "{name}: regarena and upstream read different functions"
        );
        assert_eq!(
            ours.machine_env(),
            &upstream::env(up.machine_env()),
            "{name}"
        );

        // Rebuilt from the function itself, the bytes are the same again.
        let rebuilt = SerializableFunction::new(&ours, ours.machine_env().clone());
        assert_eq!(bincode::serialize(&rebuilt).unwrap(), *bytes, "{name}");
    }
}

#[test]
fn new_with_sizes_never_asks_the_function() {
    let (name, bytes) = SAMPLE_FILES[0];
    let ours: SerializableFunction = bincode::deserialize(bytes).unwrap();
    let copy = SerializableFunction::new_with_sizes(&ours, ours.machine_env().clone(), [1, 2, 3]);
    for (class, size) in regarena::RegClass::ALL.into_iter().zip([1, 2, 3]) {
        assert_eq!(copy.spillslot_size(class), size, "{name}");
    }
}

//! The simulator's random choices (task and update ids, the maintenance poll's shuffle) drawn
//! from one seeded generator, so that replaying the accepted calls from the same seed
//! (`state_dir`) gives the same ids and the same drains. SplitMix64, a few lines, rather than a
//! randomness crate: nothing here needs more than well-spread 64-bit values.

/// A seeded source of ids and shuffles.
#[derive(Clone, Debug)]
pub struct Ids {
    state: u64,
}

impl Ids {
    pub fn seeded(seed: u64) -> Self {
        Ids { state: seed }
    }

    /// A seed nobody can predict, for a scheduler whose state is not replayed.
    pub fn fresh_seed() -> u64 {
        uuid::Uuid::new_v4().as_u128() as u64
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A version-4 UUID, as the scheduler's ids are.
    pub fn uuid(&mut self) -> uuid::Uuid {
        let high = u128::from(self.next_u64()) << 64;
        let bytes = (high | u128::from(self.next_u64())).to_be_bytes();
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    }

    /// `items` in random order (Fisher–Yates).
    pub fn shuffled<T>(&mut self, mut items: Vec<T>) -> Vec<T> {
        for i in (1..items.len()).rev() {
            let j = (self.next_u64() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
        items
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_ids_and_orders() {
        let (mut a, mut b) = (Ids::seeded(7), Ids::seeded(7));
        assert_eq!(a.uuid(), b.uuid());
        assert_eq!(
            a.shuffled((0..20).collect()),
            b.shuffled((0..20).collect::<Vec<_>>())
        );
        assert_ne!(a.uuid(), Ids::seeded(8).uuid());
    }

    #[test]
    fn ids_are_version_4_uuids_and_differ() {
        let mut ids = Ids::seeded(1);
        let (x, y) = (ids.uuid(), ids.uuid());
        assert_eq!(x.get_version_num(), 4);
        assert_ne!(x, y);
    }

    #[test]
    fn a_shuffle_keeps_every_item() {
        let mut shuffled = Ids::seeded(3).shuffled((0..50).collect::<Vec<i32>>());
        shuffled.sort();
        assert_eq!(shuffled, (0..50).collect::<Vec<_>>());
    }
}

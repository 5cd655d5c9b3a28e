//! [`Workload`]: the named workloads of `http-bench`, and `--only` parsing.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

/// One workload of `http-bench`, in the order they run (reads before writes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Workload {
    /// `GET /health`.
    Health,
    /// `GET /tasks?room=` on a room of 100 tasks (the whole room).
    List100,
    /// `GET /tasks?room=` on a room of 10,000 tasks (the whole room).
    List10k,
    /// `GET /tasks?room=&limit=50` on the 10,000-task room.
    Page,
    /// `GET /tasks?room=&limit=50&priority=high&sort=-due` on the 10,000-task room.
    Filter,
    /// `GET /tasks/stats?room=` on the 10,000-task room.
    Stats,
    /// 90 % `GET /tasks?room=` and 10 % `PUT /tasks/{n}?room=` on the 100-task room.
    Mixed,
    /// `POST /tasks?room=`.
    Create,
    /// `PUT /tasks/{1..100}?room=` with a new title each time.
    Update,
    /// The same operations called on `TaskManager` directly, beside their HTTP figures.
    Direct,
}

impl Workload {
    /// Every workload, in running order.
    pub const ALL: [Self; 10] = [
        Self::Health,
        Self::List100,
        Self::List10k,
        Self::Page,
        Self::Filter,
        Self::Stats,
        Self::Mixed,
        Self::Create,
        Self::Update,
        Self::Direct,
    ];

    /// The name `--only` accepts.
    pub fn name(self) -> &'static str {
        match self {
            Self::Health => "health",
            Self::List100 => "list100",
            Self::List10k => "list10k",
            Self::Page => "page",
            Self::Filter => "filter",
            Self::Stats => "stats",
            Self::Mixed => "mixed",
            Self::Create => "create",
            Self::Update => "update",
            Self::Direct => "direct",
        }
    }

    /// Whether it reads the 10,000-task room (which then has to be seeded).
    pub fn needs_large_room(self) -> bool {
        matches!(self, Self::List10k | Self::Page | Self::Filter | Self::Stats)
    }
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The workloads picked by `--only` (all when empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection(BTreeSet<Workload>);

impl Selection {
    /// Whether `workload` runs.
    pub fn has(&self, workload: Workload) -> bool {
        self.0.contains(&workload)
    }

    /// Whether any picked workload needs the 10,000-task room.
    pub fn needs_large_room(&self) -> bool {
        self.0.iter().any(|w| w.needs_large_room())
    }
}

impl Default for Selection {
    fn default() -> Self {
        Self(Workload::ALL.into_iter().collect())
    }
}

impl FromStr for Selection {
    type Err = String;

    /// A comma-separated list of names; `list` stands for `list100,list10k` and `all` for all.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut picked = BTreeSet::new();
        for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            match name {
                "all" => picked.extend(Workload::ALL),
                "list" => picked.extend([Workload::List100, Workload::List10k]),
                _ => {
                    let Some(workload) = Workload::ALL.into_iter().find(|w| w.name() == name) else {
                        let known: Vec<_> = Workload::ALL.iter().map(|w| w.name()).collect();
                        return Err(format!("unknown workload '{name}'; known: list, all, {}", known.join(", ")));
                    };
                    picked.insert(workload);
                }
            }
        }
        if picked.is_empty() {
            return Err("name at least one workload".to_owned());
        }
        Ok(Self(picked))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_parses_names_and_aliases() {
        let picked: Selection = "list,mixed".parse().unwrap();
        assert!(picked.has(Workload::List100) && picked.has(Workload::List10k) && picked.has(Workload::Mixed));
        assert!(!picked.has(Workload::Health));
        assert!(picked.needs_large_room());
        let small: Selection = "list100, mixed".parse().unwrap();
        assert!(!small.needs_large_room());
        assert!("lists".parse::<Selection>().is_err());
        assert!(",".parse::<Selection>().is_err());
    }
}

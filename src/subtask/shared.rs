//! A vector whose copies share their elements: what lets a task with
//! ten thousand subtasks be copied out of a store and changed without
//! copying them all.
//!
//! A tree of fan-out [`WIDTH`]: cloning it bumps one reference count;
//! changing or appending one element copies only the nodes on its path
//! (at most four for a million elements) and the element itself, while
//! every other node stays shared with the copies.

use std::sync::Arc;

const BITS: u32 = 5;
/// How many children a node has at most.
const WIDTH: usize = 1 << BITS;
const MASK: usize = WIDTH - 1;

#[derive(Clone, Debug)]
enum Node<T> {
    Leaf(Vec<Arc<T>>),
    Branch(Vec<Arc<Node<T>>>),
}

/// The vector.
#[derive(Clone, Debug)]
pub(crate) struct SharedVec<T> {
    root: Arc<Node<T>>,
    len: usize,
    /// `BITS` times the number of branch levels above the leaves.
    shift: u32,
}

impl<T> Default for SharedVec<T> {
    fn default() -> Self {
        SharedVec {
            root: Arc::new(Node::Leaf(Vec::new())),
            len: 0,
            shift: 0,
        }
    }
}

impl<T: Clone> SharedVec<T> {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn get(&self, index: usize) -> Option<&T> {
        if index >= self.len {
            return None;
        }
        let mut node = &*self.root;
        let mut level = self.shift;
        loop {
            match node {
                Node::Branch(children) => {
                    node = children.get((index >> level) & MASK)?;
                    level = level.saturating_sub(BITS);
                }
                Node::Leaf(items) => return items.get(index & MASK).map(|item| &**item),
            }
        }
    }

    /// The element at `index`, to change in place: the nodes on its path
    /// and the element are copied first if another copy shares them.
    pub(crate) fn get_mut(&mut self, index: usize) -> Option<&mut T> {
        if index >= self.len {
            return None;
        }
        let mut node = Arc::make_mut(&mut self.root);
        let mut level = self.shift;
        loop {
            match node {
                Node::Branch(children) => {
                    node = Arc::make_mut(children.get_mut((index >> level) & MASK)?);
                    level = level.saturating_sub(BITS);
                }
                Node::Leaf(items) => return items.get_mut(index & MASK).map(Arc::make_mut),
            }
        }
    }

    pub(crate) fn push(&mut self, value: T) {
        let capacity = WIDTH.checked_shl(self.shift).unwrap_or(usize::MAX);
        if self.len == capacity {
            let old = std::mem::replace(&mut self.root, Arc::new(Node::Branch(Vec::new())));
            self.root = Arc::new(Node::Branch(vec![old]));
            self.shift += BITS;
        }
        let index = self.len;
        let mut node = Arc::make_mut(&mut self.root);
        let mut level = self.shift;
        loop {
            match node {
                Node::Branch(children) => {
                    let slot = (index >> level) & MASK;
                    level = level.saturating_sub(BITS);
                    if slot == children.len() {
                        children.push(Arc::new(if level == 0 {
                            Node::Leaf(Vec::with_capacity(WIDTH))
                        } else {
                            Node::Branch(Vec::new())
                        }));
                    }
                    let Some(child) = children.get_mut(slot) else {
                        return;
                    };
                    node = Arc::make_mut(child);
                }
                Node::Leaf(items) => {
                    items.push(Arc::new(value));
                    self.len += 1;
                    return;
                }
            }
        }
    }

    /// Every element, in order.
    pub(crate) fn iter(&self) -> impl DoubleEndedIterator<Item = &T> + '_ {
        let mut leaves = Vec::with_capacity(self.len / WIDTH + 1);
        collect_leaves(&self.root, &mut leaves);
        leaves
            .into_iter()
            .flat_map(|leaf| leaf.iter().map(|item| &**item))
    }
}

fn collect_leaves<'a, T>(node: &'a Node<T>, out: &mut Vec<&'a [Arc<T>]>) {
    match node {
        Node::Leaf(items) => out.push(items),
        Node::Branch(children) => {
            for child in children {
                collect_leaves(child, out);
            }
        }
    }
}

impl<T: Clone + PartialEq> PartialEq for SharedVec<T> {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl<T: Clone + Eq> Eq for SharedVec<T> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pushes_gets_and_changes_across_levels() {
        let mut items = SharedVec::default();
        for i in 0..40_000u32 {
            items.push(i);
        }
        assert_eq!(items.len(), 40_000);
        assert_eq!(items.get(0), Some(&0));
        assert_eq!(items.get(32), Some(&32));
        assert_eq!(items.get(39_999), Some(&39_999));
        assert_eq!(items.get(40_000), None);
        let copy = items.clone();
        if let Some(item) = items.get_mut(1_234) {
            *item = 7;
        }
        assert_eq!(items.get(1_234), Some(&7));
        assert_eq!(copy.get(1_234), Some(&1_234), "the copy keeps its value");
        assert_ne!(items, copy);
        assert!(
            items
                .iter()
                .copied()
                .eq((0..40_000).map(|i| if i == 1_234 { 7 } else { i }))
        );
    }
}

package kube

import "sync"

// pending are the objects that changed since the last snapshot, noted by
// the informers' handlers: the namespace/name keys of each resource, or
// that a resource must be listed whole.
type pending struct {
	mu  sync.Mutex
	set *changeSet
}

// changeSet is what pending took for one snapshot.
type changeSet struct {
	keys  map[string]map[string]struct{}
	whole map[string]bool
}

func (p *pending) add(resource, key string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.init()
	if c.keys[resource] == nil {
		c.keys[resource] = make(map[string]struct{})
	}
	c.keys[resource][key] = struct{}{}
}

// all notes that resource must be listed whole.
func (p *pending) all(resource string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.init().whole[resource] = true
}

func (p *pending) init() *changeSet {
	if p.set == nil {
		p.set = &changeSet{keys: make(map[string]map[string]struct{}), whole: make(map[string]bool)}
	}
	return p.set
}

// take returns the changes noted so far and starts a new set; never nil.
func (p *pending) take() *changeSet {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.init()
	p.set = nil
	return c
}

// of returns the keys of resource that changed, and whether it must be
// listed whole. A nil set lists everything.
func (c *changeSet) of(resource string) (map[string]struct{}, bool) {
	if c == nil {
		return nil, true
	}
	return c.keys[resource], c.whole[resource]
}

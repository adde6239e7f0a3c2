package fleetstore

// SetFault makes every later write of s fail with err at the first step of
// its transaction it reaches after writing part of its rows (nil: no more).
// For the conformance kit's fault check (fleetstoretest.Options.Fault).
func SetFault(s *Store, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil {
		s.failing = nil
		return
	}
	s.failing = func(string) error { return err }
}

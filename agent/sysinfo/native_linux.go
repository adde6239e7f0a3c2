package sysinfo

func (s *Source) native() system { return &linuxFS{root: "/", run: s.command()} }

#!/usr/bin/perl
# harness-fake-codex launcher: run the fake codex for the plan named by HARNESS_FAKE_PLAN (see docs/fake-codex.md).
#
# Why this is perl and not Python: an SDK test suite starts codex once per turn, and a Python start-up plus a plan
# compile cost ~45 ms a turn, ~10x the compiled fake itself.  This launcher costs one perl start-up: it checks the
# cache that harness/fake/codex/cache.py fills and, on a hit, runs the cached compiled fake *inside this same perl
# process* (`do FILE`: no second exec).  Only on a miss does it exec Python, which compiles, publishes the cache
# entry atomically and execs the compiled fake.
#
# The cache ($HARNESS_FAKE_CACHE, else $XDG_CACHE_HOME/codex-parity-harness/fake-codex, else
# ~/.cache/codex-parity-harness/fake-codex):
#   paths/<path key>         a symlink used as an atomic string: its target is the entry key for that plan path
#   entries/<key>/codex      the compiled fake (plan path baked in, no log baked in)
#   entries/<key>/inputs/    manifest, plus exact copies of the plan ("plan") and of each replayed fixture ("<n>")
# A hit needs the current plan and fixture bytes to equal the copies *exactly* (a byte comparison, stronger than a
# hash and cheaper here: Digest::SHA alone costs ~3 ms to load) and the harness sources listed in the manifest to
# have the size and mtime they had at compile time (an upgraded or edited harness recompiles).
# Only core builtins are used on the hot path; the path key is FNV-1a (two 32-bit lanes), same as cache.py.
package HarnessFakeLauncher;

our $PY;    # baked by write_launcher() (launcher.py); else found at run time, see python()

sub slurp {
    my ($path) = @_;
    open(my $fh, '<', $path) or return undef;
    binmode $fh;
    local $/;
    my $data = <$fh>;
    close $fh;
    return defined $data ? $data : '';
}

sub fail {
    syswrite(STDERR, "harness-fake-codex: $_[0]\n");
    exit 2;
}

sub normalize {
    # Absolute, with empty and '.' components dropped: the same string as cache.normalize_path().
    my ($path) = @_;
    if ($path !~ m{\A/}) {
        my $cwd = readlink('/proc/self/cwd');
        if (!defined $cwd) { require Cwd; $cwd = Cwd::getcwd() }
        $path = "$cwd/$path";
    }
    return '/' . join('/', grep { $_ ne '' && $_ ne '.' } split m{/}, $path);
}

sub path_key {
    my ($s) = @_;
    utf8::encode($s) if utf8::is_utf8($s);
    my ($a, $b) = (0x811c9dc5, 0x050c5d1f);
    for my $c (unpack('C*', $s)) {
        $a = (($a ^ $c) * 16777619) & 0xffffffff;
        $b = (($b ^ $c) * 16777619) & 0xffffffff;
    }
    return sprintf('%08x%08x', $a, $b);
}

sub cache_root {
    return $ENV{HARNESS_FAKE_CACHE} if defined $ENV{HARNESS_FAKE_CACHE} && $ENV{HARNESS_FAKE_CACHE} ne '';
    my $base = (defined $ENV{XDG_CACHE_HOME} && $ENV{XDG_CACHE_HOME} ne '') ? $ENV{XDG_CACHE_HOME}
        : ((defined $ENV{HOME} && $ENV{HOME} ne '') ? $ENV{HOME} : (getpwuid($<))[7]) . '/.cache';
    return "$base/codex-parity-harness/fake-codex";
}

sub same {
    my ($x, $y) = @_;
    return defined $x && defined $y && $x eq $y;
}

sub fresh {
    # True when the entry was compiled from exactly the current plan, fixtures and harness sources.
    my ($entry, $plan) = @_;
    my $manifest = slurp("$entry/inputs/manifest");
    return 0 unless defined $manifest;
    my $complete = 0;
    for my $line (split /\n/, $manifest) {
        my @f = split / /, $line;
        if ($f[0] eq 'plan') {
            return 0 unless pack('H*', $f[1]) eq $plan && same(slurp($plan), slurp("$entry/inputs/plan"));
        } elsif ($f[0] eq 'fixture') {
            return 0 unless same(slurp(pack('H*', $f[2])), slurp("$entry/inputs/$f[1]"));
        } elsif ($f[0] eq 'source') {
            my @st = stat(pack('H*', $f[3]));
            return 0 unless @st && $st[7] == $f[1] && $st[9] == $f[2];
        } elsif ($f[0] eq 'end') {
            $complete = 1;
        } else {
            return 0;    # a manifest format this launcher does not know: let Python decide
        }
    }
    return $complete;
}

sub python {
    return $ENV{HARNESS_FAKE_PYTHON} if defined $ENV{HARNESS_FAKE_PYTHON} && $ENV{HARNESS_FAKE_PYTHON} ne '';
    return $PY if defined $PY;
    # Installed as a script: the interpreter of the same environment sits beside it (venv/bin, /usr/local/bin).
    my @dirs;
    for my $self ($0, readlink($0)) {
        push @dirs, $1 if defined $self && $self =~ m{\A(.*)/[^/]*\z}s;
    }
    for my $dir (@dirs) {
        for my $name ('python3', 'python') {
            return "$dir/$name" if -x "$dir/$name";
        }
    }
    return 'python3';
}

sub main {
    my $plan = $ENV{HARNESS_FAKE_PLAN};
    fail('HARNESS_FAKE_PLAN is not set (it names the plan file)') unless defined $plan && $plan ne '';
    $plan = normalize($plan);
    $ENV{HARNESS_FAKE_PLAN} = $plan;    # the compiled fake compares this to its baked path: no loop
    my $root = cache_root();
    my $key = readlink("$root/paths/" . path_key($plan));
    if (defined $key && $key =~ /\A[0-9a-f]+\z/ && fresh("$root/entries/$key", $plan)) {
        my $exe = "$root/entries/$key/codex";
        package main;
        do $exe;    # the compiled fake always exits; reaching the next line means it could not be loaded
        HarnessFakeLauncher::fail("cannot run cached fake $exe: " . ($@ || $!));
    }
    my $py = python();
    # Not `-m`: that puts the working directory first on sys.path, and an SDK repository (or this one) with a
    # `harness/` directory of its own would shadow the installed package.
    exec {$py} $py, '-c', 'import sys; del sys.path[0]; from harness.fake.codex.cli import main; sys.exit(main())', @ARGV;
    fail("cannot run Python ($py) to compile $plan: $! (set HARNESS_FAKE_PYTHON to an interpreter with the harness)");
}

main() unless caller;    # loaded with `do` (the tests do), it only defines the subs
1;

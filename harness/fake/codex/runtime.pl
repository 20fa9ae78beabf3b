# Runtime of the compiled fake codex (see docs/fake-codex.md).
#
# harness/fake/codex/compile.py writes an executable perl script: a generated header that defines $DIR, $PLAN_PATH,
# $LOG_PATH, $HASH, $PY, $LAUNCHER and @RESUME (each step's resume id or undef; every user string hex-encoded, so nothing
# needs quoting), followed by this file verbatim.  The operations of step i are in steps/<i>.pl, compiled only
# for the step that runs: perl parses ~5 us per step, which made 300-step plans 1.5 ms slower.  Why perl and not sh + coreutils: one process does everything (no children, so nothing can be
# orphaned when an SDK kills the fake), it reads stdin and the --output-schema file byte-exact, appends the log
# line with a single write(2) on an O_APPEND handle, and it starts in ~1.5 ms.  Only core builtins are used: no
# module is loaded on the hot path (POSIX.pm alone costs ~6 ms; Cwd is loaded only where /proc is missing).
#
# All semantics (which line comes when, what the faults do) are decided in Python; a step here is a list of
# operations:
#   ['W', offset, length]                 write bytes of steps/<i>.out to stdout
#   ['S', milliseconds]                   sleep
#   ['B', prefix_hex, fill, suffix_hex, cut]   big line: prefix . 'x' x fill . suffix (cut: first half, no \n)
#   ['E', prefix_hex, suffix_hex, cut]    echo line: prefix . json(stdin) . suffix
#   ['C']                                 close stdout
#   ['R']                                 write steps/<i>.err to stderr
#   ['H']                                 hang until killed
#   ['K', name, number]                   die by this signal
#   ['X', code]                           exit with this code
# and flags: n (do not read stdin), t (ignore SIGTERM).

sub h { return pack('H*', $_[0]) }

sub slurp {
    my ($path) = @_;
    open(my $fh, '<', $path) or return undef;
    binmode $fh;
    local $/;
    my $data = <$fh>;
    close $fh;
    return defined $data ? $data : '';
}

sub wr {
    # Write all of $data to fd 1 or 2, retrying short writes; a dead reader ends the writing, not the step.
    my ($fh, $data) = @_;
    my $off = 0;
    my $len = length $data;
    while ($off < $len) {
        my $n = syswrite($fh, $data, $len - $off, $off);
        if (!defined $n) {
            next if $! == 4;    # EINTR
            return;
        }
        $off += $n;
    }
}

my %ESC = ("\n" => '\n', "\r" => '\r', "\t" => '\t', "\x08" => '\b', "\x0c" => '\f', '"' => '\"', "\\" => '\\\\');

sub js {
    # JSON string of raw bytes: UTF-8 passes through, invalid UTF-8 bytes become U+FFFD, control chars escaped.
    my ($s) = @_;
    return 'null' unless defined $s;
    if ($s =~ /[\x80-\xff]/) {
        $s =~ s/([\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}|\xf4[\x80-\x8f][\x80-\xbf]{2})|[\x80-\xff]/defined $1 ? $1 : "\xef\xbf\xbd"/ge;
    }
    $s =~ s/([\x00-\x1f"\\])/defined $ESC{$1} ? $ESC{$1} : sprintf('\\u%04x', ord $1)/ge;
    return '"' . $s . '"';
}

sub mkpath {
    my ($path) = @_;
    my $acc = '';
    for my $part (split m{/}, $path) {
        $acc .= $part . '/';
        mkdir $acc unless -d $acc;
    }
}

# A plan named in the environment that is not the one baked in: hand over to the launcher (launcher.pl), which
# runs that plan's cached compiled fake or lets Python ($PY, the interpreter that built this fake) compile it.
# The baked log goes along unless the environment names one.
my $env_plan = $ENV{HARNESS_FAKE_PLAN};
if (defined $env_plan && $env_plan ne '' && $env_plan ne $PLAN_PATH) {
    $ENV{HARNESS_FAKE_LOG} = $LOG_PATH if $LOG_PATH ne '' && !(defined $ENV{HARNESS_FAKE_LOG} && $ENV{HARNESS_FAKE_LOG} ne '');
    $ENV{HARNESS_FAKE_PYTHON} = $PY unless defined $ENV{HARNESS_FAKE_PYTHON} && $ENV{HARNESS_FAKE_PYTHON} ne '';
    exec {$^X} $^X, $LAUNCHER, @ARGV;
    wr(\*STDERR, "harness fake codex: cannot run $^X $LAUNCHER for HARNESS_FAKE_PLAN=$env_plan: $!\n");
    exit 2;
}

my $log = (defined $ENV{HARNESS_FAKE_LOG} && $ENV{HARNESS_FAKE_LOG} ne '') ? $ENV{HARNESS_FAKE_LOG} : $LOG_PATH;
my $state = (defined $ENV{HARNESS_FAKE_STATE} && $ENV{HARNESS_FAKE_STATE} ne '') ? $ENV{HARNESS_FAKE_STATE}
    : ($log ne '' ? "$log.state" : '');
# Fakes built from the same plan share state; different plans logging to one file do not.
$state .= "/$HASH" if $state ne '';

# Parse only what we need: `resume <id>` and `--output-schema FILE`; skip the values of options that take one
# so that, e.g., `--model resume` is not mistaken for the subcommand.
my %VALUE_OPT = map { $_ => 1 } qw(-c --config -m --model -s --sandbox -C --cd --add-dir -p --profile
    --output-schema -o --output-last-message -i --image --thread-source --color --cyber-access-program
    --enable --disable --local-provider);
# Every `--image V` / `-i V` / `--image=V` value, split on commas as codex does, is recorded with its digest.
my ($resume, $schema_path, @images);
for (my $k = 0; $k < @ARGV; $k++) {
    my $arg = $ARGV[$k];
    last if $arg eq '--';
    if ($arg eq '--output-schema') { $schema_path = $ARGV[$k + 1]; $k++; next }
    if ($arg =~ /\A--output-schema=(.*)\z/s) { $schema_path = $1; next }
    if ($arg eq '--image' || $arg eq '-i') { push @images, split(/,/, $ARGV[$k + 1]) if defined $ARGV[$k + 1]; $k++; next }
    if ($arg =~ /\A--image=(.*)\z/s) { push @images, split(/,/, $1); next }
    if ($VALUE_OPT{$arg}) { $k++; next }
    if ($arg eq 'resume' && !defined $resume) {
        my $next = $ARGV[$k + 1];
        if (defined $next && $next !~ /\A-/) { $resume = $next; $k++ } else { $resume = '' }
    }
}

# Step state: the file $state lists the indices of used steps, one a line.  An exclusive flock(2) around
# read-choose-append makes the choice safe even for racing invocations (mkdir(2) claims cost ~0.25 ms each
# on ext4, the lock ~10 us).
sub choose {
    my ($used) = @_;
    if (defined $resume && $resume ne '') {
        for my $i (0 .. $#RESUME) {
            my $r = $RESUME[$i];
            return $i if defined $r && $r eq $resume && !$used->{$i};
        }
    }
    for my $i (0 .. $#RESUME) {
        return $i if !defined $RESUME[$i] && !$used->{$i};
    }
    return undef;
}

my $index;
if ($state eq '') {
    $index = choose({});
} else {
    my $fh;
    if (!open($fh, '+>>', $state)) {
        (my $dir = $state) =~ s{/[^/]*\z}{};
        mkpath($dir);
        if (!open($fh, '+>>', $state)) {
            wr(\*STDERR, "harness fake codex: cannot open step state $state: $!\n");
            exit 2;
        }
    }
    flock($fh, 2);    # LOCK_EX
    seek($fh, 0, 0);
    my %used;
    { local $/; my $text = <$fh>; %used = map { $_ => 1 } split /\n/, $text if defined $text }
    $index = choose(\%used);
    syswrite($fh, "$index\n") if defined $index;
    close $fh;    # releases the lock
}
my $step = defined $index ? do "$DIR/steps/$index.pl" : undef;
if (defined $index && ref $step ne 'HASH') {
    wr(\*STDERR, "harness fake codex: cannot load $DIR/steps/$index.pl: " . ($@ || $!) . "\n");
    exit 2;
}

$SIG{TERM} = 'IGNORE' if $step && $step->{t};

# Leak probes (docs/leak-probes.md): the invocation record carries this process's pid, process group and
# /proc starttime (so a reused pid is never mistaken for it), and <log>.ends gets one line saying how it ended --
# "exit" (it ended by itself; written before its last output, so an SDK killing it after reading that output is
# not a race) or the signal it received.  Each handler records, then re-raises the signal with its default
# action, so the exit status the SDK sees is unchanged.  No end line means SIGKILL (or a crash).
my $STARTTIME = do {
    my $stat = slurp('/proc/self/stat');
    (defined $stat && $stat =~ /\)\s+(.*)\z/s) ? (split ' ', $1)[19] : 'null';
};
my $ENDS = $log ne '' ? "$log.ends" : '';
my $ENDED = 0;

sub ended {
    my ($how) = @_;
    return if $ENDED || $ENDS eq '';
    $ENDED = 1;
    if (open(my $fh, '>>', $ENDS)) {
        syswrite($fh, '{"pid":' . $$ . ',"starttime":' . $STARTTIME . ',"ended_by":' . js($how) . "}\n");
        close $fh;
    }
}

for my $sig (qw(TERM INT HUP PIPE)) {
    next if $sig eq 'TERM' && $step && $step->{t};
    $SIG{$sig} = sub {
        ended("SIG$sig");
        $SIG{$sig} = 'DEFAULT';
        kill $sig, $$;    # blocked while this handler runs: delivered, with its default action, as it returns
    };
}

my $stdin;
if ($step && $step->{n}) {
    close STDIN;    # the writer gets EPIPE as soon as the pipe has no reader
} else {
    binmode STDIN;
    local $/;
    $stdin = <STDIN>;
    $stdin = '' unless defined $stdin;
}

my $schema = defined $schema_path ? slurp($schema_path) : undef;

sub image_record {
    # {path, exists, sha256} at invocation time, i.e. when codex would read the attachment.  Digest::SHA is loaded
    # only when an image is named (it costs ~3 ms); where it is missing (perl-base alone) sha256 is null.
    my ($path) = @_;
    my $exists = -e $path ? 'true' : 'false';
    my $sha = 'null';
    if (-f _) {
        my $data = slurp($path);
        if (defined $data && eval { require Digest::SHA; 1 }) { $sha = '"' . Digest::SHA::sha256_hex($data) . '"' }
    }
    return '{"path":' . js($path) . ',"exists":' . $exists . ',"sha256":' . $sha . '}';
}

if ($log ne '') {
    my $cwd = readlink('/proc/self/cwd');
    if (!defined $cwd) { require Cwd; $cwd = Cwd::getcwd() }
    my @env;
    my @fixed = qw(CODEX_API_KEY CODEX_INTERNAL_ORIGINATOR_OVERRIDE OPENAI_BASE_URL CODEX_HOME OPENAI_API_KEY PATH);
    my %is_fixed = map { $_ => 1 } @fixed;
    for my $key (@fixed) {
        push @env, '"' . $key . '":' . js($ENV{$key});
    }
    # Any other variable an SDK may set or pass through for codex: CODEX_*, OPENAI_*, RUST_LOG (sorted).
    for my $key (sort grep { !$is_fixed{$_} && (/^(?:CODEX_|OPENAI_)/ || $_ eq 'RUST_LOG') } keys %ENV) {
        push @env, js($key) . ':' . js($ENV{$key});
    }
    my $record = '{"step":' . (defined $index ? $index : 'null')
        . ',"argv":[' . join(',', map { js($_) } @ARGV) . ']'
        . ',"stdin":' . js($stdin)
        . ',"cwd":' . js($cwd)
        . ',"pid":' . $$ . ',"pgid":' . getpgrp() . ',"starttime":' . $STARTTIME
        . ',"env":{' . join(',', @env) . '}'
        . ',"output_schema":' . js($schema)
        . (@images ? ',"images":[' . join(',', map { image_record($_) } @images) . ']' : '') . "}\n";
    my $fh;
    if (!open($fh, '>>', $log)) {
        wr(\*STDERR, "harness fake codex: cannot append to log $log: $!\n");
        exit 2;
    }
    syswrite($fh, $record);    # one write(2) on an O_APPEND handle: concurrent records never interleave
    close $fh;
}

if (!$step) {
    ended('exit');
    my $n = scalar @RESUME;
    my $what = (defined $resume && $resume ne '') ? " (resume $resume)" : '';
    wr(\*STDERR, "harness fake codex: no step left for this invocation$what: the plan has $n step(s) and all"
        . " that could match are used" . ($state ne '' ? " (state: $state)" : '') . "\n");
    exit 1;
}

my $out;
my $last_op = $step->{o}[-1];
# A step that never waits (no hang, no sleep) ends by itself whatever the SDK does meanwhile: record that now, so an
# SDK that kills it while it is finishing (after a parse error, say) is not a race between two end records.
ended('exit') unless grep { $_->[0] eq 'H' || $_->[0] eq 'S' } @{ $step->{o} };
for my $op (@{ $step->{o} }) {
    my $t = $op->[0];
    ended('exit') if ($op == $last_op && $t ne 'H' && $t ne 'S') || $t eq 'X' || $t eq 'K';
    if ($t eq 'W') {
        $out = slurp("$DIR/steps/$index.out") unless defined $out;
        wr(\*STDOUT, substr($out, $op->[1], $op->[2]));
    } elsif ($t eq 'S') {
        select(undef, undef, undef, $op->[1] / 1000);
    } elsif ($t eq 'B' || $t eq 'E') {
        my $line = $t eq 'B' ? h($op->[1]) . ('x' x $op->[2]) . h($op->[3]) : h($op->[1]) . js($stdin) . h($op->[2]);
        if ($op->[-1]) { wr(\*STDOUT, substr($line, 0, int(length($line) / 2))) } else { wr(\*STDOUT, $line . "\n") }
    } elsif ($t eq 'C') {
        close STDOUT;
    } elsif ($t eq 'R') {
        my $err = slurp("$DIR/steps/$index.err");
        wr(\*STDERR, $err) if defined $err;
    } elsif ($t eq 'H') {
        sleep 3600 while 1;
    } elsif ($t eq 'K') {
        $SIG{ $op->[1] } = 'DEFAULT';
        kill $op->[1], $$;
        select(undef, undef, undef, 0.05) for 1 .. 100;    # the signal is pending; this is only a backstop
        exit 128 + $op->[2];
    } elsif ($t eq 'X') {
        exit $op->[1];
    }
}
ended('exit');
exit 0;

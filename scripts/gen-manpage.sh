#!/usr/bin/env bash
# Writes sluice(1) in roff to stdout, from the binary's own --help and --describe output, so
# the manual says what this build does:  gen-manpage.sh build/sluice > sluice.1
# Called by the build (the sluice_manpage target, cmake/SluicePackage.cmake) for the Debian package.
set -euo pipefail
bin="${1:-build/sluice}"
version="$("$bin" --version | awk '{print $2}')"

# roff-safe text: a backslash doubled, a line starting with . or ' protected.
esc() { sed -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"; }

help="$("$bin" --help)"
cat <<ROFF
.TH SLUICE 1 "" "sluice $version" "User Commands"
.SH NAME
sluice \\- log pipeline processor that reads Fluentd configurations
.SH SYNOPSIS
.nf
$(sed -n '/^Usage:/,/^$/p' <<< "$help" | sed '1d;/^$/d;s/^  //' | esc)
.fi
.SH DESCRIPTION
sluice reads Fluentd's configuration syntax (<source>, <filter>, <match>, <label>,
@include, embedded "#{ENV[...]}") and moves events in batches through inputs, parsers,
filters, buffers and outputs.
With \\fB\\-c\\fR it runs a configuration file; without it (quick mode) stdin is the input and
stdout the output.
.PP
$(sed -n '/^Quick mode:/,/^$/p' <<< "$help" | esc)
.SH OPTIONS
.nf
$(sed -n '/^Options:/,$p' <<< "$help" | sed '1d' | esc)
.fi
.SH EXIT STATUS
.nf
$(sed -n '/^Exit codes:/,/^$/p' <<< "$help" | sed '/^$/d' | esc)
.fi
.SH SIGNALS
SIGTERM or SIGINT stops the inputs, lets every accepted batch reach its output and exits 0; a
second one exits at once (130).
SIGHUP or SIGUSR2 reads the configuration again and swaps the pipeline (a configuration that
does not load is rejected and the running one goes on).
SIGUSR1 flushes every buffer now.
.SH FILES
.TP
.I /etc/sluice/sluice.conf
the configuration the systemd unit runs
.TP
.I /etc/default/sluice
environment for that configuration (the unit's EnvironmentFile)
.TP
.I /var/lib/sluice
positions (pos_file), file buffers and dead letters (the unit's StateDirectory)
.SH PLUGINS
The plugins of this build and their parameters (\\fBsluice \\-\\-describe all\\fR).
.nf
$("$bin" --describe all | esc)
.fi
.SH SEE ALSO
.BR systemctl (1),
.BR fluentd (1)
ROFF

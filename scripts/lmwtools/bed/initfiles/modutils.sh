#!/bin/sh
# The bed's stand-in for OE's modutils-initscripts (modutils.sh, "start 06
# S"), which sysvinit images have: load the modules that
# /etc/modules-load.d/*.conf name (kernel-module-split writes one file per
# KERNEL_MODULE_AUTOLOAD entry).
for conf in /etc/modules-load.d/*.conf; do
	[ -f "$conf" ] || continue
	while read -r module args; do
		case "$module" in
		"#"* | "") continue ;;
		esac
		# options, if any, are separate words
		# shellcheck disable=SC2086
		modprobe "$module" $args || echo "modutils: cannot load $module" >&2
	done <"$conf"
done

// SPDX-License-Identifier: GPL-2.0
/*
 * lmw_hello - the test bed's own module: proves that a module built by the
 * bed against the guest kernel's Debian headers loads, runs and unloads.
 *
 * The test passes a fresh token as the "token" parameter and expects to
 * read it back from /sys/module/lmw_hello/parameters/token and to find it
 * in the kernel log lines written at load and at unload. A module that was
 * built against the wrong kernel fails to load (vermagic), one that did
 * not run its init prints no line, so each check can fail for real.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/utsname.h>

static char *token = "none";
module_param(token, charp, 0444);
MODULE_PARM_DESC(token, "word echoed to the kernel log at load and unload");

static int __init lmw_hello_init(void)
{
	pr_info("loaded on %s, token=%s\n", init_utsname()->release, token);
	return 0;
}

static void __exit lmw_hello_exit(void)
{
	pr_info("unloaded, token=%s\n", token);
}

module_init(lmw_hello_init);
module_exit(lmw_hello_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("meta-lmw test bed: trivial loadable module");

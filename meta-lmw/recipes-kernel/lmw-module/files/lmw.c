// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (c) 2026 The meta-lmw authors
 *
 * lmw - Low Memory Watermark: refuse commitments before a swapless system
 * runs out of memory, and tell user space early.
 *
 * The model
 * =========
 *
 * Linux promises memory when it is committed (mmap of private writable
 * memory, brk, fork, stack growth, shmem) and delivers it when it is
 * touched. The sum of all promises is "committed memory", C, the
 * Committed_AS line of /proc/meminfo. Without swap, once more than the
 * physical RAM R is touched, the kernel first evicts executable pages
 * (everything crawls) and then the OOM killer picks a victim. lmw acts on
 * the promises instead, at the one place the kernel decides on each of
 * them: __vm_enough_memory(mm, pages, cap_sys_admin).
 *
 * Two watermarks, in percent of R (totalram_pages), set in
 * /proc/sys/vm/lowmem_{deny,notify}_watermark:
 *
 *	D = R * deny% / 100		N = R * notify% / 100
 *
 * A request for p pages fails with ENOMEM when
 *
 *	C + p > D
 *
 * unless the caller is exempt, and is otherwise handed to the kernel's own
 * overcommit policy unchanged. Exempt are the two kinds of task that the
 * kernel itself keeps going when memory runs out: a caller with
 * CAP_SYS_ADMIN (the kernel's admin reserve), and a task that the OOM
 * killer may never take, oom_score_adj -1000 (OOM_SCORE_ADJ_MIN). Only
 * CAP_SYS_RESOURCE lowers a task's oom_score_adj below what it inherited,
 * so no user can claim the second; it is how a protector is marked (the
 * terminator's unit sets OOMScoreAdjust=-1000, and its init script the
 * same): refused by its own module, a protector that has dropped
 * CAP_SYS_ADMIN could not fork, exec, grow its heap or even be restarted
 * past the deny line. Exempt requests still count in C. deny% may exceed
 * 100: with overcommit, C above R is normal and only part of it is ever
 * touched. If either knob is 0, lmw is passive. With notify% >= deny%
 * there is no notify state: the state goes from normal to deny, and the
 * signal comes at the deny line.
 *
 * R is read at each decision, not when a knob is written: memory hotplug
 * and a balloon driver change totalram_pages at run time, and the lines
 * follow. R includes a hugetlb pool, which no commitment can use: a
 * device that reserves one sets its percentages of the rest.
 *
 * The state follows C, with a hysteresis H (hysteresis_permille of R) on
 * the way down, so that a steady load at a line does not flap:
 *
 *	up(c)   = deny if c > D, notify if c > N, normal otherwise
 *	state'  = max(up(C), min(state, up(C + H)))
 *
 * At a commit decision for p pages the state only rises, to
 * max(state, up(C + p)): the probe runs before the kernel accounts p, and
 * until it does, every other decision sees C without it. One of those may
 * be the woken listener's own (on a fully preemptible kernel it runs
 * before the crosser gets back to its accounting), and letting it lower
 * the state would signal normal, then notify again, for one crossing.
 * The state falls only where C is read whole: at the re-check below and
 * at a knob's write.
 *
 * Each change of state is the low-memory signal (LMS): a POLLPRI on
 * /sys/kernel/lmw/watermark/state (and on Maemo's /sys/kernel/low_watermark
 * and high_watermark) and, with uevents=Y, a KOBJ_CHANGE uevent from
 * /sys/kernel/lmw/watermark carrying LMW_STATE and the figures. C rises
 * only through commit decisions, where lmw sees it; it falls on munmap
 * and exit, where lmw does not. So while the state is above normal, a
 * work item re-reads C every recheck_ms and lets the state fall.
 *
 * Accuracy and cost
 * =================
 *
 * __vm_enough_memory reads C with percpu_counter_read(), which may be off
 * by nr_cpus * batch, about 25% of R under the default overcommit policy.
 * lmw sums the counter as percpu_counter_sum() does, the global count plus
 * each CPU's share, but without the counter's spinlock: where a kprobe is
 * a breakpoint (x86 without ftrace, arm64, riscv64) its handler runs as an
 * NMI, and an NMI may take no lock (lockdep calls it an inconsistent lock
 * state; the debug kernel's tests found it). On arm it runs in the
 * undefined-instruction trap, which is no better a place to wait. The
 * cost is O(nr_cpus), about a hundred instructions on a small SoC. A CPU
 * that folds its share into the count while lmw sums can make the sum off
 * by that share, less than one batch
 * (vm_committed_as_batch, a fraction of a percent of R), and a concurrent
 * request on another CPU that is not yet accounted makes the decision off
 * by that request's size. A test proves the bound of 1% of R or 4 MiB,
 * whichever is larger. The probe returns at once when lmw is passive or
 * the request does not grow C (p <= 0).
 *
 * The counter, vm_committed_as, is not exported. lmw learns its address
 * once, at load: a short-lived kprobe on __percpu_counter_sum() notes its
 * argument while lmw itself calls vm_memory_committed(). If that fails and
 * the probe is a breakpoint, lmw does not load; through ftrace the handler
 * runs in process context, and vm_memory_committed() is safe there.
 *
 * How a commitment is refused
 * ===========================
 *
 * A loadable module cannot be an LSM, and the LSM hook cannot refuse any
 * more. lmw sets a kprobe on __vm_enough_memory and, to refuse, makes the
 * function return -ENOMEM without running its body, as the kernel's own
 * error injection does. On x86 the probe points the instruction pointer
 * at lmw_deny_stub(), which has the same signature; on arm64, arm and
 * riscv64 it sets the return value (x0, r0, a0) and the program counter to
 * the return address the caller left in the link register (lr, ra), as the
 * kernel's override_function_with_return() does there. The arguments are
 * read where each ABI passes them: rdi/rsi/rdx, x0-x2, r0-r2 (AAPCS; arm
 * has no regs_get_kernel_argument()), a0-a2. The body, which would
 * account the pages, never runs, so C is left exactly as it was. A dummy
 * post_handler keeps the probe from being jump-optimized, which would
 * ignore the changed instruction pointer. If __vm_enough_memory cannot be
 * probed (e.g. inlined by LTO), lmw probes security_vm_enough_memory_mm
 * instead and checks CAP_SYS_ADMIN itself, as the kernel's commoncap does
 * for this decision (the module parameter target= can name either one).
 *
 * The probe handler never sleeps and takes no lock: it runs with
 * preemption off (swapoff calls it with swap_lock held), and where the
 * kprobe is a breakpoint, as an NMI. It uses atomics, a trylock for the
 * record of the last refusal, and irq_work_queue(), the one way out of an
 * NMI. The irq_work, in interrupt context on the probe's CPU at once,
 * wakes the pollers itself with kernfs_notify(), which may be called from
 * any context, on the files' nodes held from load to unload; then it
 * queues the work item, where the uevent (which allocates) and the log
 * run. A poller so wakes within the interrupt, not when a kworker next
 * gets the CPU from whatever is running there. The work item runs a tick
 * later (LMW_SIGNAL_DELAY), behind the pollers it follows.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/ctype.h>
#include <linux/ftrace.h>
#include <linux/hash.h>
#include <linux/irq_work.h>
#include <linux/kobject.h>
#include <linux/kprobes.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/oom.h>
#include <linux/percpu_counter.h>
#include <linux/preempt.h>
#include <linux/ptrace.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/sysctl.h>
#include <linux/sysfs.h>
#include <linux/workqueue.h>

/*
 * Each architecture's refusal is proven in a guest before it is claimed
 * (the test bed's module tests). A Thumb-2 kernel would also need the
 * Thumb bit of lr carried into the CPSR on the way back; no Thumb-2 kernel
 * has been proven yet.
 */
#if !defined(CONFIG_X86_64) && !defined(CONFIG_ARM64) && !defined(CONFIG_ARM) && \
	!(defined(CONFIG_RISCV) && defined(CONFIG_64BIT))
#error "lmw refuses commitments on x86_64, arm64, arm and riscv64 only: no other is proven"
#endif
#if defined(CONFIG_ARM) && defined(CONFIG_THUMB2_KERNEL)
#error "lmw is proven on ARM-mode arm kernels only, not on Thumb-2 (CONFIG_THUMB2_KERNEL)"
#endif

/* Set by Kbuild's feature tests: see there. */
#if !defined(LMW_CTL_CONST) || !defined(LMW_WQ)
#error "build lmw through its Kbuild file (it sets LMW_CTL_CONST and LMW_WQ)"
#endif

/* Watermarks above 1000% of RAM mean nothing on a swapless device. */
#define LMW_WATERMARK_MAX	1000

static int deny_watermark;
module_param(deny_watermark, int, 0444);
MODULE_PARM_DESC(deny_watermark,
		 "initial vm.lowmem_deny_watermark, % of RAM (0 = passive, max 1000)");

static int notify_watermark;
module_param(notify_watermark, int, 0444);
MODULE_PARM_DESC(notify_watermark,
		 "initial vm.lowmem_notify_watermark, % of RAM (0 = passive, max 1000)");

/*
 * 1% of RAM: larger than the jitter of a steady workload (malloc arenas,
 * thread stacks come and go in MiB), smaller than what one terminated
 * process gives back, so a kill still lowers the state at once.
 */
static int hysteresis_permille = 10;
module_param(hysteresis_permille, int, 0444);
MODULE_PARM_DESC(hysteresis_permille,
		 "fall below a watermark only when this far under it, 1/1000 of RAM (0..100)");

/*
 * A tenth of a second: a terminator learns within that time that its
 * kill brought memory back. It runs only while the state is above normal.
 */
static int recheck_ms = 100;
module_param(recheck_ms, int, 0444);
MODULE_PARM_DESC(recheck_ms, "re-read committed memory this often while above normal (10..10000)");

/*
 * The uevent is the signal for a udev rule or a netlink listener; the
 * state file's POLLPRI reaches pollers without it. It is not free: each
 * one allocates, wakes every uevent listener, and at a change of state
 * after 3 s of quiet has systemd-udevd fork a worker for it (its idle
 * ones are gone by then), all just when memory is short. Off unless
 * something listens: with it, the terminator's SIGTERM came 10 to 27 ms
 * later at p99 in each of three runs on a 2-vCPU guest, and a 10 ms
 * heartbeat's worst at a crossing was 17 against 7 ms (median). Y for a
 * device with such a listener; root may switch it at run time.
 */
static bool uevents;
module_param(uevents, bool, 0644);
MODULE_PARM_DESC(uevents, "send a KOBJ_CHANGE uevent at each change of state (default N)");

/*
 * Where to hook: "auto" tries __vm_enough_memory, then the fallback. A
 * BSP whose kernel inlines the first (LTO) may name the fallback directly.
 */
static char *target = "auto";
module_param(target, charp, 0444);
MODULE_PARM_DESC(target,
		 "auto, __vm_enough_memory or security_vm_enough_memory_mm (the fallback)");

enum lmw_state { LMW_NORMAL, LMW_NOTIFY, LMW_DENY };

static const char * const lmw_state_names[] = {
	[LMW_NORMAL] = "normal",
	[LMW_NOTIFY] = "notify",
	[LMW_DENY] = "deny",
};

/* Serialises the knobs' writers; readers take each knob with READ_ONCE. */
static DEFINE_MUTEX(lmw_knob_lock);

static atomic_t lmw_state = ATOMIC_INIT(LMW_NORMAL);
static atomic_long_t lmw_denials = ATOMIC_LONG_INIT(0);
static atomic_long_t lmw_state_changes = ATOMIC_LONG_INIT(0);
static bool lmw_stopping;

/*
 * Who the state is about: the process refused last, and the one whose
 * commitment last took committed memory over the notify or the deny line.
 * A process that maps and unmaps across the notify line may be small
 * whenever user space looks; the crossing names it all the same, and
 * says how much it asked for: a bystander's fork that happens to take the
 * figure over the line asks for a few pages, a flapper for its mapping.
 */
struct lmw_who {
	pid_t pid;		/* the thread group id: the one user space kills by */
	long pages;		/* the commitment that was refused, or crossed */
	char comm[TASK_COMM_LEN];
};

static DEFINE_RAW_SPINLOCK(lmw_last_lock);
static struct lmw_who lmw_last_denied;
static struct lmw_who lmw_last_crossed;

/* &vm_committed_as, learnt at load (see the header); NULL: not found */
static struct percpu_counter *lmw_counter;
static struct task_struct *lmw_learning;

static struct kset *lmw_kset;
static struct kobject *lmw_kobj;

static void lmw_signal_fn(struct work_struct *work);
static void lmw_recheck_fn(struct work_struct *work);
static DECLARE_DELAYED_WORK(lmw_signal_work, lmw_signal_fn);

/*
 * One tick: the signal work waits this long behind the pollers that the
 * irq_work has just woken on the same CPU. Queued at once, its kworker,
 * a sleeper and so first in line, ran the uevent and the log line ahead
 * of a woken poller, which then waited milliseconds for its CPU: in the
 * bench's guest a poller's p99 was 11.7 ms with the work queued at once
 * and 2.5 ms a tick later, in turns in one boot (docs/benchmarks.md).
 * Nothing waits on the uevent or the log within a tick.
 */
#define LMW_SIGNAL_DELAY	1	/* jiffies */

/*
 * The files poll() sleeps on for the LMS: ours, then Maemo's two in
 * /sys/kernel. lmw_sysfs_init() takes a reference on each node.
 */
static const char *const lmw_poll_names[] = { "state", "low_watermark", "high_watermark" };
static struct kernfs_node *lmw_poll_nodes[ARRAY_SIZE(lmw_poll_names)];

/* From the probe (maybe an NMI): wake the pollers, then queue the uevent */
static void lmw_kick_fn(struct irq_work *work)
{
	int i;

	if (READ_ONCE(lmw_stopping))
		return;
	for (i = 0; i < ARRAY_SIZE(lmw_poll_nodes); i++)
		kernfs_notify(lmw_poll_nodes[i]);
	queue_delayed_work(LMW_WQ, &lmw_signal_work, LMW_SIGNAL_DELAY);
}

static struct irq_work lmw_kick;	/* init_irq_work() in lmw_init: 5.10 has no IRQ_WORK_INIT */
static DECLARE_DELAYED_WORK(lmw_recheck_work, lmw_recheck_fn);

static unsigned long lmw_pages_of(int per, int unit)
{
	return (unsigned long)div_u64((u64)totalram_pages() * per, unit);
}

/* The lines in pages, from R as it is now; 0 = passive (either knob 0). */
static unsigned long lmw_deny_pages(void)
{
	int deny = READ_ONCE(deny_watermark);

	return deny && READ_ONCE(notify_watermark) ? lmw_pages_of(deny, 100) : 0;
}

static unsigned long lmw_notify_pages(void)
{
	int notify = READ_ONCE(notify_watermark);

	return notify && READ_ONCE(deny_watermark) ? lmw_pages_of(notify, 100) : 0;
}

/* Committed memory, in pages, without a lock: safe in NMI context. */
static unsigned long lmw_committed(void)
{
	struct percpu_counter *counter = READ_ONCE(lmw_counter);
	s64 sum;
	int cpu;

	if (!IS_ENABLED(CONFIG_SMP) || !counter)
		return vm_memory_committed();	/* UP: no lock; or ftrace only */
	sum = READ_ONCE(counter->count);
	/* an offline CPU's share is folded into count when it goes */
	for_each_possible_cpu(cpu)
		sum += READ_ONCE(*per_cpu_ptr(counter->counters, cpu));
	return sum > 0 ? (unsigned long)sum : 0;
}

static unsigned long lmw_kb(unsigned long pages)
{
	return pages << (PAGE_SHIFT - 10);
}

/* Say what the knobs mean now; caller holds lmw_knob_lock. */
static void lmw_report_lines(void)
{
	if (!deny_watermark || !notify_watermark) {
		pr_info("passive (a watermark is 0)\n");
		return;
	}
	pr_info("deny %d%% (%lu kB), notify %d%% (%lu kB) of %lu kB RAM\n", deny_watermark,
		lmw_kb(lmw_deny_pages()), notify_watermark, lmw_kb(lmw_notify_pages()),
		lmw_kb(totalram_pages()));
	if (notify_watermark >= deny_watermark)
		pr_notice("notify >= deny: no notify state, the signal comes at the deny line\n");
}

static enum lmw_state lmw_level(unsigned long committed, unsigned long deny,
				unsigned long notify)
{
	if (committed > deny)
		return LMW_DENY;
	if (committed > notify)
		return LMW_NOTIFY;
	return LMW_NORMAL;
}

/*
 * Move the state for committed memory @committed, with the lines @deny and
 * @notify the caller has worked out already (the probe needs them first);
 * only up unless @may_fall (see the header: the probe's figure may lack a
 * request in flight). Safe in the probe. Returns true when the state
 * changed (the caller's change raised the LMS).
 */
static bool lmw_move_state(unsigned long committed, unsigned long deny, unsigned long notify,
			   bool may_fall)
{
	unsigned long slack = lmw_pages_of(hysteresis_permille, 1000);
	int old = atomic_read(&lmw_state);
	int new;

	do {
		if (!deny)
			new = LMW_NORMAL;
		else
			new = max(lmw_level(committed, deny, notify),
				  min_t(enum lmw_state, old,
					lmw_level(committed + slack, deny, notify)));
		if (new == old || (new < old && !may_fall))
			return false;
	} while (!atomic_try_cmpxchg(&lmw_state, &old, new));

	atomic_long_inc(&lmw_state_changes);
	if (!READ_ONCE(lmw_stopping))
		irq_work_queue(&lmw_kick);
	return true;
}

static bool lmw_update_state(unsigned long committed)
{
	return lmw_move_state(committed, lmw_deny_pages(), lmw_notify_pages(), true);
}

/* Whether @pages more on top of @committed take committed memory over @line. */
static bool lmw_crosses(unsigned long committed, long pages, unsigned long line)
{
	return committed <= line && committed + pages > line;
}

/* @who is current now; safe in the probe */
static void lmw_remember(struct lmw_who *who, long pages)
{
	unsigned long flags;

	/* a trylock (no waiting in an NMI): busy, another CPU records one */
	if (raw_spin_trylock_irqsave(&lmw_last_lock, flags)) {
		who->pid = task_tgid_nr(current);
		who->pages = pages;
		memcpy(who->comm, current->comm, TASK_COMM_LEN);
		raw_spin_unlock_irqrestore(&lmw_last_lock, flags);
	}
}

static void lmw_record_denial(long pages, unsigned long committed, unsigned long deny)
{
	atomic_long_inc(&lmw_denials);
	lmw_remember(&lmw_last_denied, pages);
	pr_warn_ratelimited("denied %lu kB to %s[%d]: committed %lu kB, deny line %lu kB\n",
			    lmw_kb(pages), current->comm, task_tgid_nr(current),
			    lmw_kb(committed), lmw_kb(deny));
}

/* ---- the probe -------------------------------------------------------- */

struct lmw_target {
	const char *symbol;
	bool has_cap_arg;	/* cap_sys_admin is the third argument */
};

static const struct lmw_target lmw_targets[] = {
	{ "__vm_enough_memory", true },
	{ "security_vm_enough_memory_mm", false },
};

static const struct lmw_target *lmw_target;

#ifdef CONFIG_X86_64
/*
 * Entered by the RET (ftrace) or IRET (int3) that ends the probe, in place
 * of the probed function, with its arguments still in place; never called.
 */
static noinline int lmw_deny_stub(struct mm_struct *mm, long pages, int cap_sys_admin)
{
	return -ENOMEM;
}
#endif

/* Argument n (0-2) of the probed function, where the ABI passes it. */
static __always_inline unsigned long lmw_arg(struct pt_regs *regs, unsigned int n)
{
#ifdef CONFIG_ARM
	return regs->uregs[n];		/* AAPCS: r0-r3 */
#else
	return regs_get_kernel_argument(regs, n);
#endif
}

static int lmw_refuse(struct pt_regs *regs)
{
#if defined(CONFIG_X86_64)
	instruction_pointer_set(regs, (unsigned long)lmw_deny_stub);
#else
	regs_set_return_value(regs, (unsigned long)-ENOMEM);
#if defined(CONFIG_ARM64)
	instruction_pointer_set(regs, procedure_link_pointer(regs));
#elif defined(CONFIG_ARM)
	instruction_pointer_set(regs, regs->ARM_lr);
#else
	instruction_pointer_set(regs, regs->ra);
#endif
#endif
	return 1;	/* the handler changed the IP: no single-step, no post */
}

/*
 * CAP_SYS_ADMIN in the initial user namespace, as commoncap decides it for
 * __vm_enough_memory (cap_vm_enough_memory), without the LSM hooks of
 * ns_capable(), which may take locks.
 */
static bool lmw_capable_admin(void)
{
	const struct cred *cred = current_cred();

	return cred->user_ns == &init_user_ns && cap_raised(cred->cap_effective, CAP_SYS_ADMIN);
}

/* Never refused (see the header): CAP_SYS_ADMIN, or oom_score_adj -1000. */
static bool lmw_exempt(struct pt_regs *regs)
{
	bool admin;

	/*
	 * cap_sys_admin is an int: only the register's low 32 bits are the
	 * argument, the rest is whatever the caller left there.
	 */
	if (lmw_target->has_cap_arg)
		admin = (int)lmw_arg(regs, 2) != 0;
	else
		admin = lmw_capable_admin();
	/* a short in current's own signal_struct: no lock needed to read it */
	return admin || READ_ONCE(current->signal->oom_score_adj) == OOM_SCORE_ADJ_MIN;
}

static int lmw_pre(struct kprobe *p, struct pt_regs *regs)
{
	long pages = (long)lmw_arg(regs, 1);
	unsigned long deny = lmw_deny_pages();
	unsigned long committed, notify;

	if (!deny || pages <= 0)
		return 0;
	/* only while loading, before lmw refuses to go on (see the header) */
	if (!READ_ONCE(lmw_counter) && in_nmi())
		return 0;

	committed = lmw_committed();
	if (committed + pages > deny && !lmw_exempt(regs)) {
		lmw_move_state(committed, deny, lmw_notify_pages(), false);
		lmw_record_denial(pages, committed, deny);
		return lmw_refuse(regs);
	}
	/* by the figure, not the state: the state may lag in its hysteresis */
	notify = lmw_notify_pages();
	if (lmw_crosses(committed, pages, notify) || lmw_crosses(committed, pages, deny))
		lmw_remember(&lmw_last_crossed, pages);
	lmw_move_state(committed + pages, deny, notify, false);
	return 0;
}

NOKPROBE_SYMBOL(lmw_pre);

/* Present so that the probe is not jump-optimized (see the header). */
static void lmw_post(struct kprobe *p, struct pt_regs *regs, unsigned long flags)
{
}

NOKPROBE_SYMBOL(lmw_post);

static struct kprobe lmw_kprobe = {
	.pre_handler = lmw_pre,
	.post_handler = lmw_post,
};

/* ---- finding vm_committed_as ------------------------------------------ */

static int lmw_learn_pre(struct kprobe *p, struct pt_regs *regs)
{
	if (current == READ_ONCE(lmw_learning) && !lmw_counter)
		lmw_counter = (struct percpu_counter *)lmw_arg(regs, 0);
	return 0;
}

NOKPROBE_SYMBOL(lmw_learn_pre);

/*
 * Register kp at the entry of its symbol. Where each function begins with
 * an ftrace call site and kprobes cannot use it (riscv64 without
 * KPROBES_ON_FTRACE), the kernel refuses the entry with -EINVAL; the probe
 * then goes just past the site, where the arguments, the stack and the
 * return address are still the caller's: the site either does nothing or
 * calls ftrace with t0, not ra, as its link.
 */
static int lmw_register_at_entry(struct kprobe *kp)
{
	int ret = register_kprobe(kp);

#if defined(CONFIG_RISCV) && defined(CONFIG_DYNAMIC_FTRACE) && !defined(CONFIG_KPROBES_ON_FTRACE)
	if (ret == -EINVAL) {
		kp->addr = NULL;
		kp->flags = 0;
		kp->offset = MCOUNT_INSN_SIZE;
		ret = register_kprobe(kp);
	}
#endif
	return ret;
}

/*
 * Note the counter that vm_memory_committed() sums; then check it: an
 * interrupt summing another counter on this CPU meanwhile would give a
 * counter whose sum is not committed memory.
 */
static void lmw_learn_counter(void)
{
	struct kprobe learn = {
		.symbol_name = "__percpu_counter_sum",
		.pre_handler = lmw_learn_pre,
	};
	unsigned long exact, unlocked, slack = max(totalram_pages() / 100, 1UL);
	int tries;

	if (!IS_ENABLED(CONFIG_SMP) || lmw_register_at_entry(&learn))
		return;
	for (tries = 0; tries < 3 && !lmw_counter; tries++) {
		WRITE_ONCE(lmw_learning, current);
		exact = vm_memory_committed();
		WRITE_ONCE(lmw_learning, NULL);
		if (!lmw_counter)
			break;
		unlocked = lmw_committed();
		if (max(exact, unlocked) - min(exact, unlocked) > slack)
			WRITE_ONCE(lmw_counter, NULL);
	}
	unregister_kprobe(&learn);
}

static int lmw_register_probe(void)
{
	bool named = false;
	int i, ret = -ENOENT;

	for (i = 0; i < ARRAY_SIZE(lmw_targets); i++) {
		if (strcmp(target, "auto") && strcmp(target, lmw_targets[i].symbol))
			continue;
		named = true;
		memset(&lmw_kprobe, 0, sizeof(lmw_kprobe));
		lmw_kprobe.symbol_name = lmw_targets[i].symbol;
		lmw_kprobe.pre_handler = lmw_pre;
		lmw_kprobe.post_handler = lmw_post;
		lmw_target = &lmw_targets[i];
		ret = lmw_register_at_entry(&lmw_kprobe);
		if (!ret)
			return 0;
		pr_warn("cannot probe %s: error %d\n", lmw_targets[i].symbol, ret);
	}
	if (!named) {
		pr_err("target=%s is none of auto, %s, %s\n", target, lmw_targets[0].symbol,
		       lmw_targets[1].symbol);
		return -EINVAL;
	}
	pr_err("no commit decision point can be probed (kprobe blacklist, inlined?)\n");
	return ret;
}

/* ---- the low-memory signal -------------------------------------------- */

static void lmw_signal_fn(struct work_struct *work)
{
	int state = atomic_read(&lmw_state);
	unsigned long committed = vm_memory_committed();
	char env_state[32], env_committed[48], env_notify[48], env_deny[48];
	char *envp[5];

	snprintf(env_state, sizeof(env_state), "LMW_STATE=%s", lmw_state_names[state]);
	snprintf(env_committed, sizeof(env_committed), "LMW_COMMITTED_KB=%lu",
		 lmw_kb(committed));
	snprintf(env_notify, sizeof(env_notify), "LMW_NOTIFY_KB=%lu",
		 lmw_kb(lmw_notify_pages()));
	snprintf(env_deny, sizeof(env_deny), "LMW_DENY_KB=%lu",
		 lmw_kb(lmw_deny_pages()));
	envp[0] = env_state;
	envp[1] = env_committed;
	envp[2] = env_notify;
	envp[3] = env_deny;
	envp[4] = NULL;

	if (READ_ONCE(uevents))
		kobject_uevent_env(lmw_kobj, KOBJ_CHANGE, envp);
	pr_info_ratelimited("state %s, committed %lu kB\n", lmw_state_names[state],
			    lmw_kb(committed));

	if (state != LMW_NORMAL && !READ_ONCE(lmw_stopping))
		mod_delayed_work(LMW_WQ, &lmw_recheck_work, msecs_to_jiffies(recheck_ms));
}

static void lmw_recheck_fn(struct work_struct *work)
{
	if (lmw_update_state(vm_memory_committed()))
		return;	/* the signal work re-arms the recheck */
	if (atomic_read(&lmw_state) != LMW_NORMAL && !READ_ONCE(lmw_stopping))
		mod_delayed_work(LMW_WQ, &lmw_recheck_work, msecs_to_jiffies(recheck_ms));
}

/* ---- sysctl: the two knobs -------------------------------------------- */

/*
 * Reads go through proc_dointvec. Writes are parsed strictly: plain
 * decimal digits and an optional newline, nothing else (no sign, no
 * blank, no NUL), so that "5 6", "12abc" or "5\0..." fail instead of
 * half-applying; anything outside 0..LMW_WATERMARK_MAX fails with EINVAL
 * and the old value stays.
 */
static int lmw_watermark_handler(LMW_CTL_CONST struct ctl_table *table, int write,
				 void *buffer, size_t *lenp, loff_t *ppos)
{
	int *knob = table->data;
	char text[16];
	int value, ret;

	if (!write) {
		struct ctl_table tmp = *table;

		mutex_lock(&lmw_knob_lock);
		value = *knob;
		tmp.data = &value;
		ret = proc_dointvec(&tmp, write, buffer, lenp, ppos);
		mutex_unlock(&lmw_knob_lock);
		return ret;
	}

	if (*ppos || *lenp >= sizeof(text))
		return -EINVAL;
	memcpy(text, buffer, *lenp);
	text[*lenp] = '\0';
	/* kstrtoint() alone would take a sign, and stop at an embedded NUL */
	if (strlen(text) != *lenp || !isdigit(text[0]) || kstrtoint(text, 10, &value) ||
	    value > LMW_WATERMARK_MAX)
		return -EINVAL;

	mutex_lock(&lmw_knob_lock);
	if (value != *knob) {
		WRITE_ONCE(*knob, value);
		pr_info("%s = %d%%\n", table->procname, value);
		lmw_report_lines();
	}
	mutex_unlock(&lmw_knob_lock);
	*ppos += *lenp;
	lmw_update_state(vm_memory_committed());
	return 0;
}

static struct ctl_table lmw_sysctls[] = {
	{
		.procname = "lowmem_deny_watermark",
		.data = &deny_watermark,
		.maxlen = sizeof(int),
		.mode = 0644,
		.proc_handler = lmw_watermark_handler,
	},
	{
		.procname = "lowmem_notify_watermark",
		.data = &notify_watermark,
		.maxlen = sizeof(int),
		.mode = 0644,
		.proc_handler = lmw_watermark_handler,
	},
#ifndef LMW_SYSCTL_SIZED
	{ }	/* before 6.6 the table ends with an empty entry; 6.11+ rejects it */
#endif
};

static struct ctl_table_header *lmw_sysctl_header;

/* ---- sysfs: /sys/kernel/lmw/watermark and Maemo's two files ----------- */

static ssize_t state_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%s\n", lmw_state_names[atomic_read(&lmw_state)]);
}

static ssize_t committed_kb_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%lu\n", lmw_kb(vm_memory_committed()));
}

static ssize_t deny_kb_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%lu\n", lmw_kb(lmw_deny_pages()));
}

static ssize_t notify_kb_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%lu\n", lmw_kb(lmw_notify_pages()));
}

static ssize_t totalram_kb_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%lu\n", lmw_kb(totalram_pages()));
}

static ssize_t denials_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%ld\n", atomic_long_read(&lmw_denials));
}

static ssize_t state_changes_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%ld\n", atomic_long_read(&lmw_state_changes));
}

static ssize_t lmw_who_show(const struct lmw_who *who, char *buf)
{
	struct lmw_who copy;
	unsigned long flags;

	raw_spin_lock_irqsave(&lmw_last_lock, flags);
	copy = *who;
	raw_spin_unlock_irqrestore(&lmw_last_lock, flags);
	if (!copy.pid)
		return sysfs_emit(buf, "none\n");
	return sysfs_emit(buf, "%d %s\n", copy.pid, copy.comm);
}

static ssize_t last_denied_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	return lmw_who_show(&lmw_last_denied, buf);
}

static ssize_t last_crossed_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	return lmw_who_show(&lmw_last_crossed, buf);
}

/* What the last crossing asked for, in kB: a file of its own, one value */
static ssize_t last_crossed_kb_show(struct kobject *kobj, struct kobj_attribute *attr,
				    char *buf)
{
	struct lmw_who copy;
	unsigned long flags;

	raw_spin_lock_irqsave(&lmw_last_lock, flags);
	copy = lmw_last_crossed;
	raw_spin_unlock_irqrestore(&lmw_last_lock, flags);
	if (!copy.pid)
		return sysfs_emit(buf, "none\n");
	return sysfs_emit(buf, "%lu\n", lmw_kb(copy.pages));
}

/*
 * The processes a terminator would choose among, ranked the way it ranks
 * them when lmw raised the signal: the kernel's oom_score formula with
 * what a process has committed in place of what is resident,
 *
 *	score = max(0, (1000 + committed * 1000 / R + oom_score_adj) * 2 / 3)
 *
 * where committed is its private writable memory, touched or not
 * (data_vm + stack_vm: VmData + VmStk). Read from user space, that is two
 * files per process (stat and oom_score_adj) on the path from the signal
 * to the kill; here it is a pass over the task list under RCU, as the OOM
 * killer makes its own (two, with the families below). A process's memory
 * is found through any of its threads that still has it, as the OOM
 * killer's find_lock_task_mm() does: one whose main thread has exited
 * shows none in /proc/PID, and a zombie has none to free. Never listed:
 * kernel threads, init, zombies, and oom_score_adj -1000 (never chosen).
 *
 * A process that forks workers, or a fork storm, holds its memory in its
 * children: each of them is small, and a bystander that is merely the
 * largest single process would be listed first. So a process is ranked
 * with its family: itself and its direct children of the same real uid
 * (whom it could signal itself; a child that changed to another user is
 * that user's), but for children that are never chosen and those that
 * share its memory (a vfork()ed child, until it execs). The family's
 * committed memory F stands in for the process's own when F is at least
 * LMW_FAMILY_SPREAD times what its largest member holds:
 *
 *	F >= LMW_FAMILY_SPREAD * max(own, largest child)
 *
 * that is, when the memory is spread so thin over so many processes (8
 * at least) that no kill of one member takes much of it back, and only a
 * kill of the family does. 8, not 2: a supervisor with a few services, or
 * a service with a few workers, stays out, and a leaker among them, larger
 * than the rest, is listed on its own and goes alone; what passes is a
 * fork storm, or a pool of many small workers. A shell running one large
 * job is no family either: the job holds nearly all of it. Grandchildren
 * count with their own parent, not further up: the sums stay one pass
 * each, and a tree of processes that each hold a little is a rare shape
 * for a leak.
 *
 * LMW_CANDIDATES lines, the highest score first, each
 * "PID START_TIME COMMITTED_KB OOM_SCORE_ADJ COMM_HEX FAMILY_KB" (the
 * comm "-" when empty, so that every line has its six fields; FAMILY_KB
 * equals COMMITTED_KB when the process is ranked alone), then "rest" and
 * the highest score among the processes not listed ("none": there are
 * none), so that the reader knows when the list settles its choice and
 * when it must look at every process after all (its rules can raise any
 * score). 16: a terminator's rules rarely set aside more than a few of
 * the largest processes, and the file stays a fraction of a page.
 *
 * The sums are made in a first pass over the task list, into a table of
 * parents keyed by the parent's task_struct (stable under the RCU read
 * lock, held across both passes), and read in the second. The table is
 * allocated with the module, not on the way from the signal to the kill,
 * when memory is short: LMW_FAMILIES slots, filled at most half, so that
 * a lookup stays a probe or two. Past LMW_FAMILIES / 2 parents (each
 * with a child of its own uid), the processes left over are ranked alone,
 * as a process without children is.
 */
#define LMW_CANDIDATES		16
#define LMW_FAMILY_SPREAD	8
#define LMW_FAMILY_BITS		10
#define LMW_FAMILIES		BIT(LMW_FAMILY_BITS)

struct lmw_candidate {
	pid_t pid;
	u64 start;			/* stat's field 22: clock ticks after boot */
	unsigned long committed;	/* pages */
	unsigned long family;		/* pages: its family's, or its own */
	int oom_score_adj;
	long score;
	char comm[TASK_COMM_LEN];
};

struct lmw_family {
	const struct task_struct *parent;	/* a thread group leader; NULL: free */
	unsigned long children;			/* pages its counted children hold */
	unsigned long largest;			/* pages the largest of them holds */
};

/* Both tables are candidates_show()'s alone, under lmw_candidates_lock */
static DEFINE_MUTEX(lmw_candidates_lock);
static struct lmw_candidate lmw_list[LMW_CANDIDATES];
static struct lmw_family lmw_families[LMW_FAMILIES];
static unsigned int lmw_families_used;

static long lmw_score(unsigned long committed, int oom_score_adj)
{
	unsigned long ram = max(totalram_pages(), 1UL);
	long per_mille = (long)div64_ul((u64)committed * 1000, ram);

	return max(0L, (1000 + per_mille + oom_score_adj) * 2 / 3);
}

/* What @p has committed, from the first of its threads that has memory; false: none has */
static bool lmw_task_committed(struct task_struct *p, unsigned long *committed)
{
	struct task_struct *t;

	for_each_thread(p, t) {
		task_lock(t);
		if (t->mm) {
			*committed = READ_ONCE(t->mm->data_vm) + READ_ONCE(t->mm->stack_vm);
			task_unlock(t);
			return true;
		}
		task_unlock(t);
	}
	return false;
}

/* Whether @p may be listed at all, and what it has committed (pages) */
static bool lmw_task_rankable(struct task_struct *p, unsigned long *committed)
{
	if (p->flags & PF_KTHREAD || is_global_init(p))
		return false;
	if (READ_ONCE(p->signal->oom_score_adj) == OOM_SCORE_ADJ_MIN)
		return false;
	return lmw_task_committed(p, committed);
}

/* The family entry of @parent; made when @make and there is room, else NULL */
static struct lmw_family *lmw_family(const struct task_struct *parent, bool make)
{
	u32 i = hash_ptr(parent, LMW_FAMILY_BITS);

	for (;; i = (i + 1) & (LMW_FAMILIES - 1)) {
		struct lmw_family *f = &lmw_families[i];

		if (f->parent == parent)
			return f;
		if (f->parent)
			continue;	/* never all taken: filled at most half */
		if (!make || lmw_families_used >= LMW_FAMILIES / 2)
			return NULL;
		lmw_families_used++;
		f->parent = parent;
		return f;
	}
}

/* Add @p, which holds @committed pages, to its parent's family (RCU read lock held) */
static void lmw_count_child(struct task_struct *p, unsigned long committed)
{
	struct task_struct *parent = rcu_dereference(p->real_parent)->group_leader;
	struct lmw_family *f;

	if (parent->flags & PF_KTHREAD || is_global_init(parent))
		return;
	if (!uid_eq(__task_cred(p)->uid, __task_cred(parent)->uid))
		return;
	/* compared, never dereferenced: a child that shares the parent's memory */
	if (READ_ONCE(p->mm) && READ_ONCE(p->mm) == READ_ONCE(parent->mm))
		return;
	f = lmw_family(parent, true);
	if (!f)
		return;
	f->children += committed;
	f->largest = max(f->largest, committed);
}

/* The pages @p is ranked by: its family's, when the family counts (above) */
static unsigned long lmw_ranked(struct task_struct *p, unsigned long committed)
{
	struct lmw_family *f = lmw_family(p, false);

	if (f && committed + f->children >= LMW_FAMILY_SPREAD * max(committed, f->largest))
		return committed + f->children;
	return committed;
}

/* Put @c into lmw_list (@n long, the highest score first); return the score it pushed out */
static long lmw_rank(int *n, const struct lmw_candidate *c)
{
	struct lmw_candidate *list = lmw_list;
	long out = -1;
	int i;

	if (*n == LMW_CANDIDATES) {
		if (c->score <= list[*n - 1].score)
			return c->score;
		out = list[--(*n)].score;
	}
	for (i = *n; i > 0 && list[i - 1].score < c->score; i--)
		list[i] = list[i - 1];
	list[i] = *c;
	(*n)++;
	return out;
}

static ssize_t candidates_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	struct lmw_candidate c;
	struct task_struct *p;
	unsigned long committed;
	long rest = -1;
	ssize_t len = 0;
	int n = 0, i;

	BUILD_BUG_ON(NSEC_PER_SEC % USER_HZ);	/* as nsec_to_clock_t() does it then */
	mutex_lock(&lmw_candidates_lock);
	memset(lmw_families, 0, sizeof(lmw_families));
	lmw_families_used = 0;
	rcu_read_lock();
	for_each_process(p) {
		if (lmw_task_rankable(p, &committed))
			lmw_count_child(p, committed);
	}
	for_each_process(p) {
		if (!lmw_task_rankable(p, &c.committed))
			continue;
		c.pid = task_tgid_vnr(p);
		if (!c.pid)
			continue;	/* outside the reader's PID namespace */
		c.oom_score_adj = READ_ONCE(p->signal->oom_score_adj);
		c.start = div_u64(p->start_boottime, NSEC_PER_SEC / USER_HZ);
		c.family = lmw_ranked(p, c.committed);
		c.score = lmw_score(c.family, c.oom_score_adj);
		get_task_comm(c.comm, p);
		rest = max(rest, lmw_rank(&n, &c));
	}
	rcu_read_unlock();
	/* comm is its owner's to choose: in hex, no byte of it can end a field or a line */
	for (i = 0; i < n; i++) {
		struct lmw_candidate *l = &lmw_list[i];
		int comm_len = strnlen(l->comm, TASK_COMM_LEN);

		len += sysfs_emit_at(buf, len, "%d %llu %lu %d ", l->pid, l->start,
				     lmw_kb(l->committed), l->oom_score_adj);
		if (comm_len)
			len += sysfs_emit_at(buf, len, "%*phN", comm_len, l->comm);
		else
			len += sysfs_emit_at(buf, len, "-");
		len += sysfs_emit_at(buf, len, " %lu\n", lmw_kb(l->family));
	}
	mutex_unlock(&lmw_candidates_lock);
	if (rest < 0)
		len += sysfs_emit_at(buf, len, "rest none\n");
	else
		len += sysfs_emit_at(buf, len, "rest %ld\n", rest);
	return len;
}

static ssize_t probe_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%s\n", lmw_kprobe.symbol_name);
}

static struct kobj_attribute lmw_state_attr = __ATTR_RO(state);
static struct kobj_attribute lmw_committed_attr = __ATTR_RO(committed_kb);
static struct kobj_attribute lmw_deny_attr = __ATTR_RO(deny_kb);
static struct kobj_attribute lmw_notify_attr = __ATTR_RO(notify_kb);
static struct kobj_attribute lmw_totalram_attr = __ATTR_RO(totalram_kb);
static struct kobj_attribute lmw_denials_attr = __ATTR_RO(denials);
static struct kobj_attribute lmw_changes_attr = __ATTR_RO(state_changes);
/*
 * Who was refused, or crossed a line (pid and comm), and who holds what
 * (the candidates), is another user's business, which hidepid= hides in
 * /proc too: root only.
 */
static struct kobj_attribute lmw_last_denied_attr = __ATTR(last_denied, 0400,
							   last_denied_show, NULL);
static struct kobj_attribute lmw_last_crossed_attr = __ATTR(last_crossed, 0400,
							    last_crossed_show, NULL);
static struct kobj_attribute lmw_last_crossed_kb_attr = __ATTR(last_crossed_kb, 0400,
							       last_crossed_kb_show, NULL);
static struct kobj_attribute lmw_candidates_attr = __ATTR(candidates, 0400,
							  candidates_show, NULL);
static struct kobj_attribute lmw_probe_attr = __ATTR_RO(probe);

static struct attribute *lmw_attrs[] = {
	&lmw_state_attr.attr,
	&lmw_committed_attr.attr,
	&lmw_deny_attr.attr,
	&lmw_notify_attr.attr,
	&lmw_totalram_attr.attr,
	&lmw_denials_attr.attr,
	&lmw_changes_attr.attr,
	&lmw_last_denied_attr.attr,
	&lmw_last_crossed_attr.attr,
	&lmw_last_crossed_kb_attr.attr,
	&lmw_candidates_attr.attr,
	&lmw_probe_attr.attr,
	NULL,
};
ATTRIBUTE_GROUPS(lmw);

/* Maemo's names: 1 while at or above the notify / the deny state. */
static ssize_t low_watermark_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n", atomic_read(&lmw_state) >= LMW_NOTIFY);
}

static ssize_t high_watermark_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n", atomic_read(&lmw_state) >= LMW_DENY);
}

static struct kobj_attribute lmw_low_attr = __ATTR_RO(low_watermark);
static struct kobj_attribute lmw_high_attr = __ATTR_RO(high_watermark);

static struct attribute *lmw_maemo_attrs[] = {
	&lmw_low_attr.attr,
	&lmw_high_attr.attr,
	NULL,
};

static const struct attribute_group lmw_maemo_group = {
	.attrs = lmw_maemo_attrs,
};

static void lmw_kobj_release(struct kobject *kobj)
{
	kfree(kobj);
}

static const struct kobj_type lmw_ktype = {
	.release = lmw_kobj_release,
	.sysfs_ops = &kobj_sysfs_ops,
	.default_groups = lmw_groups,
};

/*
 * /sys/kernel/lmw is a kset so that its member "watermark" can send
 * uevents (a kobject outside any kset, like kernel_kobj, cannot).
 */
static void lmw_put_poll_nodes(void)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(lmw_poll_nodes); i++) {
		sysfs_put(lmw_poll_nodes[i]);	/* NULL-safe */
		lmw_poll_nodes[i] = NULL;
	}
}

static int lmw_sysfs_init(void)
{
	int ret, i;

	lmw_kset = kset_create_and_add("lmw", NULL, kernel_kobj);
	if (!lmw_kset)
		return -ENOMEM;

	lmw_kobj = kzalloc(sizeof(*lmw_kobj), GFP_KERNEL);
	if (!lmw_kobj) {
		ret = -ENOMEM;
		goto err_kset;
	}
	lmw_kobj->kset = lmw_kset;
	/*
	 * The parameter is const from 6.3 on; older kernels take a plain
	 * pointer but never write through it: the cast only drops the const.
	 */
	ret = kobject_init_and_add(lmw_kobj, (void *)&lmw_ktype, NULL, "watermark");
	if (ret)
		goto err_kobj;

	ret = sysfs_create_group(kernel_kobj, &lmw_maemo_group);
	if (ret)
		goto err_kobj;

	for (i = 0; i < ARRAY_SIZE(lmw_poll_nodes); i++) {
		lmw_poll_nodes[i] = sysfs_get_dirent(i ? kernel_kobj->sd : lmw_kobj->sd,
						     lmw_poll_names[i]);
		if (!lmw_poll_nodes[i]) {
			ret = -ENOENT;
			goto err_nodes;
		}
	}
	return 0;

err_nodes:
	lmw_put_poll_nodes();
	sysfs_remove_group(kernel_kobj, &lmw_maemo_group);
err_kobj:
	kobject_put(lmw_kobj);	/* frees it, added or not */
err_kset:
	kset_unregister(lmw_kset);
	return ret;
}

static void lmw_sysfs_exit(void)
{
	lmw_put_poll_nodes();	/* the irq_work is stopped: nothing notifies them now */
	sysfs_remove_group(kernel_kobj, &lmw_maemo_group);
	kobject_put(lmw_kobj);
	kset_unregister(lmw_kset);
}

/* ---- load and unload -------------------------------------------------- */

static bool lmw_param_ok(const char *name, int value, int max)
{
	if (value >= 0 && value <= max)
		return true;
	pr_err("%s=%d is out of range 0..%d\n", name, value, max);
	return false;
}

static void lmw_stop_work(void)
{
	WRITE_ONCE(lmw_stopping, true);
	irq_work_sync(&lmw_kick);
	/* the two items queue each other: cancel both, then once more */
	cancel_delayed_work_sync(&lmw_recheck_work);
	cancel_delayed_work_sync(&lmw_signal_work);
	cancel_delayed_work_sync(&lmw_recheck_work);
}

/*
 * The kernel options lmw cannot work without (meta-lmw's lmw.cfg fragment
 * sets them on linux-yocto; other kernels need them in their defconfig).
 * Name every missing one in one go, so a BSP's defconfig is fixed in one
 * round rather than one rebuild per option.
 */
static int lmw_check_kernel_config(void)
{
	static const struct {
		bool present;
		const char *option, *for_what;
	} needs[] = {
		{ IS_ENABLED(CONFIG_KPROBES), "CONFIG_KPROBES", "seeing commit decisions" },
#ifdef LMW_PROC_SYSCTL_OPTION
		{ IS_ENABLED(CONFIG_PROC_SYSCTL), "CONFIG_PROC_SYSCTL", "/proc/sys/vm/lowmem_*" },
#else
		{ IS_ENABLED(CONFIG_SYSCTL), "CONFIG_SYSCTL", "/proc/sys/vm/lowmem_*" },
#endif
		{ IS_ENABLED(CONFIG_SYSFS), "CONFIG_SYSFS", "/sys/kernel/lmw" },
	};
	int i, missing = 0;

	for (i = 0; i < ARRAY_SIZE(needs); i++) {
		if (needs[i].present)
			continue;
		pr_err("this kernel lacks %s=y, needed for %s\n", needs[i].option,
		       needs[i].for_what);
		missing++;
	}
	if (IS_ENABLED(CONFIG_SWAP))
		pr_notice("this kernel has CONFIG_SWAP=y: the watermarks assume a swapless system\n");
	return missing ? -EOPNOTSUPP : 0;
}

static int __init lmw_init(void)
{
	int ret;

	ret = lmw_check_kernel_config();
	if (ret)
		return ret;
	init_irq_work(&lmw_kick, lmw_kick_fn);
	if (!lmw_param_ok("deny_watermark", deny_watermark, LMW_WATERMARK_MAX) ||
	    !lmw_param_ok("notify_watermark", notify_watermark, LMW_WATERMARK_MAX) ||
	    !lmw_param_ok("hysteresis_permille", hysteresis_permille, 100) ||
	    !lmw_param_ok("recheck_ms", recheck_ms, 10000) || recheck_ms < 10)
		return -EINVAL;

	ret = lmw_sysfs_init();
	if (ret) {
		pr_err("cannot create /sys/kernel/lmw: error %d\n", ret);
		return ret;
	}

	lmw_sysctl_header = register_sysctl("vm", lmw_sysctls);
	if (!lmw_sysctl_header) {
		pr_err("cannot register vm.lowmem_* sysctls\n");
		ret = -ENOMEM;
		goto err_sysfs;
	}

	lmw_learn_counter();
	ret = lmw_register_probe();
	if (ret)
		goto err_sysctl;
	if (IS_ENABLED(CONFIG_SMP) && !lmw_counter && !kprobe_ftrace(&lmw_kprobe)) {
		pr_err("cannot find vm_committed_as, and a breakpoint probe may not take its lock\n");
		ret = -EOPNOTSUPP;
		goto err_probe;
	}

	lmw_update_state(vm_memory_committed());
	pr_info("watching %s+%#x (%s, committed memory %s)\n", lmw_kprobe.symbol_name,
		lmw_kprobe.offset,
		kprobe_ftrace(&lmw_kprobe) ? "through ftrace" : "a breakpoint",
		lmw_counter ? "summed without a lock" : "summed under its lock");
	mutex_lock(&lmw_knob_lock);
	lmw_report_lines();
	mutex_unlock(&lmw_knob_lock);
	return 0;

err_probe:
	unregister_kprobe(&lmw_kprobe);
	synchronize_rcu_tasks();
err_sysctl:
	unregister_sysctl_table(lmw_sysctl_header);
err_sysfs:
	lmw_stop_work();
	lmw_sysfs_exit();
	return ret;
}

static void __exit lmw_exit(void)
{
	unregister_kprobe(&lmw_kprobe);
	/* a task may still be on its way out of lmw_deny_stub */
	synchronize_rcu_tasks();
	unregister_sysctl_table(lmw_sysctl_header);
	lmw_stop_work();
	lmw_sysfs_exit();
	pr_info("unloaded: %ld denials, %ld state changes\n",
		atomic_long_read(&lmw_denials), atomic_long_read(&lmw_state_changes));
}

module_init(lmw_init);
module_exit(lmw_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Low Memory Watermark: refuse commitments past a line, signal before it");

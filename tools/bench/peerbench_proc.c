/* peerbench_proc.c: child processes, ports and files for gridpeerbench.
 *
 * Every child is registered here. A Ctrl-C (or SIGTERM, SIGHUP) kills
 * every registered process group at once from the signal handler, so that
 * no broker outlives us whatever the main thread is doing; the main thread
 * sees pb_stopping() at its next bounded wait and cleans up the temp dirs.
 * Children also get PR_SET_PDEATHSIG, for when we are SIGKILLed.
 */
#include "peerbench.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define S_MAX_CHILDREN 64

static volatile sig_atomic_t s_stop;
static volatile pid_t s_children[S_MAX_CHILDREN];

static void s_on_signal(int sig)
{
    (void)sig;
    s_stop = 1;
    /* Only async-signal-safe calls here: kill() each group. */
    for (int i = 0; i < S_MAX_CHILDREN; i++)
        if (s_children[i] > 0)
            kill(-s_children[i], SIGKILL);
}

int pb_signals_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0 ||
        sigaction(SIGHUP, &sa, NULL) != 0)
        return -1;
    /* A broker closing a socket must be an error code, not our death. */
    signal(SIGPIPE, SIG_IGN);
    /* Whatever our children leave behind (an Erlang VM's erl_child_setup,
     * a daemon that double-forks) becomes our child, not init's: we can
     * then reap it and kill it in pb_kill_all(), and an init that does not
     * reap is not left with zombies. */
    return prctl(PR_SET_CHILD_SUBREAPER, 1) == 0 ? 0 : -1;
}

bool pb_stopping(void)
{
    return s_stop != 0;
}

/* Kills every process whose parent we are; names the ones that were
 * still running (zombies are only waiting to be reaped). */
static void s_kill_reparented(void)
{
    DIR *proc = opendir("/proc");
    struct dirent *entry;
    while (proc && (entry = readdir(proc))) {
        char path[300], line[128], state = '?';
        int ppid = 0;
        snprintf(path, sizeof path, "/proc/%s/status", entry->d_name);
        FILE *f = entry->d_name[0] >= '1' && entry->d_name[0] <= '9' ? fopen(path, "r") : NULL;
        while (f && fgets(line, sizeof line, f)) {
            if (sscanf(line, "State: %c", &state) == 1)
                continue;
            if (sscanf(line, "PPid: %d", &ppid) == 1)
                break;
        }
        if (f)
            fclose(f);
        if (ppid != (int)getpid())
            continue;
        if (state != 'Z')
            fprintf(stderr, "gridpeerbench: killing leftover process %s\n", entry->d_name);
        kill(atoi(entry->d_name), SIGKILL);
    }
    if (proc)
        closedir(proc);
}

void pb_kill_all(void)
{
    for (int i = 0; i < S_MAX_CHILDREN; i++) {
        pid_t pid = s_children[i];
        if (pid > 0) {
            kill(-pid, SIGKILL);
            waitpid(pid, NULL, 0);
            s_children[i] = 0;
        }
    }
    /* Then what was reparented to us (we are a subreaper), until none is
     * left: killing one can reparent its own children to us. */
    double deadline = pb_now() + 10;
    for (;;) {
        s_kill_reparented();
        poll(NULL, 0, 20);
        pid_t r;
        while ((r = waitpid(-1, NULL, WNOHANG)) > 0) {
        }
        if (r < 0 && errno == ECHILD)
            return;
        if (pb_now() > deadline) {
            fprintf(stderr, "gridpeerbench: some child processes did not exit\n");
            return;
        }
    }
}

static int s_register(pid_t pid)
{
    for (int i = 0; i < S_MAX_CHILDREN; i++)
        if (s_children[i] == 0) {
            s_children[i] = pid;
            return 0;
        }
    return -1;
}

static void s_unregister(pid_t pid)
{
    for (int i = 0; i < S_MAX_CHILDREN; i++)
        if (s_children[i] == pid)
            s_children[i] = 0;
}

double pb_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Our environment with env_extra added (replacing same-named entries).
 * Built before fork(): the child of a threaded process (libmosquitto runs
 * threads) may only make async-signal-safe calls, so no setenv there. */
static char **s_envp(char *const env_extra[])
{
    size_t n = 0, extra = 0;
    while (environ[n])
        n++;
    while (env_extra && env_extra[extra])
        extra++;
    char **envp = calloc(n + extra + 1, sizeof *envp);
    if (!envp)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        bool replaced = false;
        for (size_t j = 0; j < extra && !replaced; j++) {
            size_t key = strcspn(env_extra[j], "=");
            replaced = strncmp(environ[i], env_extra[j], key + 1) == 0;
        }
        if (!replaced)
            envp[k++] = environ[i];
    }
    for (size_t j = 0; j < extra; j++)
        envp[k++] = env_extra[j];
    return envp;
}

/* The child's side of a fork: own group, dies with us, fds, exec. */
static void s_exec_child(pid_t parent, char *const argv[], char **envp, int in_fd, int out_fd)
{
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)  /* the parent died before the prctl */
        _exit(127);
    signal(SIGPIPE, SIG_DFL);
    if (dup2(in_fd, STDIN_FILENO) < 0 || dup2(out_fd, STDOUT_FILENO) < 0 ||
        dup2(out_fd, STDERR_FILENO) < 0)
        _exit(127);
    execve(argv[0], argv, envp);
    static const char msg[] = "gridpeerbench: exec failed\n";
    ssize_t ignored = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)ignored;
    _exit(127);
}

int pb_spawn(pb_proc_t *p, char *const argv[], char *const env_extra[], const char *log_path,
             bool hold_stdin)
{
    p->pid = 0;
    p->stdin_fd = -1;
    p->status = -1;
    snprintf(p->log, sizeof p->log, "%s", log_path);
    char **envp = s_envp(env_extra);
    if (!envp)
        return -1;
    int in[2] = { -1, -1 };
    int out = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (hold_stdin ? pipe2(in, O_CLOEXEC) != 0 : (in[0] = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0)
        in[0] = -1;
    int rc = -1;
    if (out >= 0 && in[0] >= 0) {
        pid_t parent = getpid();
        pid_t pid = fork();
        if (pid == 0)
            s_exec_child(parent, argv, envp, in[0], out);
        if (pid > 0) {
            /* Set the group from here too, so a signal sent right now
             * already reaches it. */
            setpgid(pid, pid);
            p->pid = pid;
            p->stdin_fd = in[1];
            in[1] = -1;
            rc = s_register(pid) == 0 ? 0 : -1;
        }
    }
    int saved = errno;
    if (in[0] >= 0)
        close(in[0]);
    if (in[1] >= 0)
        close(in[1]);
    if (out >= 0)
        close(out);
    free(envp);
    errno = saved;
    return rc;
}

/* Reaps pid if it exited: kills what is left of its group first, while
 * the unreaped zombie still pins the group id to our child. */
static bool s_reap_if_exited(pb_proc_t *p)
{
    siginfo_t info;
    memset(&info, 0, sizeof info);
    if (waitid(P_PID, (id_t)p->pid, &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid != p->pid)
        return false;
    kill(-p->pid, SIGKILL);
    int status = 0;
    if (waitpid(p->pid, &status, 0) == p->pid)
        p->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    s_unregister(p->pid);
    p->pid = 0;
    if (p->stdin_fd >= 0)
        close(p->stdin_fd);
    p->stdin_fd = -1;
    return true;
}

bool pb_proc_alive(pb_proc_t *p)
{
    return p->pid > 0 && !s_reap_if_exited(p);
}

void pb_proc_stop(pb_proc_t *p, int sig, int timeout_ms)
{
    if (p->pid <= 0)
        return;
    kill(p->pid, sig);
    double deadline = pb_now() + timeout_ms / 1000.0;
    while (!s_reap_if_exited(p)) {
        if (pb_now() >= deadline) {
            kill(-p->pid, SIGKILL);
            kill(p->pid, SIGKILL);
            deadline = pb_now() + 3600;  /* SIGKILL cannot be refused */
        }
        poll(NULL, 0, 10);
    }
}

int pb_run(char *const argv[], char *const env_extra[], int timeout_ms, char *out, size_t cap)
{
    char **envp = s_envp(env_extra);
    int fds[2];
    if (!envp)
        return -1;
    if (pipe2(fds, O_CLOEXEC) != 0) {
        free(envp);
        return -1;
    }
    int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    pid_t parent = getpid();
    pid_t pid = null >= 0 ? fork() : -1;
    if (pid == 0)
        s_exec_child(parent, argv, envp, null, fds[1]);
    free(envp);
    close(fds[1]);
    if (null >= 0)
        close(null);
    if (pid < 0 || s_register(pid) != 0) {
        close(fds[0]);
        if (pid > 0) {
            kill(-pid, SIGKILL);
            waitpid(pid, NULL, 0);
        }
        return -1;
    }
    setpgid(pid, pid);
    size_t n = 0;
    char sink[1024];
    double deadline = pb_now() + timeout_ms / 1000.0;
    bool timed_out = false;
    for (;;) {
        int left = (int)((deadline - pb_now()) * 1000);
        if (left <= 0 || s_stop) {
            timed_out = true;
            break;
        }
        struct pollfd pfd = { fds[0], POLLIN, 0 };
        if (poll(&pfd, 1, left) <= 0)
            continue;
        char *dst = out && n + 1 < cap ? out + n : sink;
        size_t room = out && n + 1 < cap ? cap - 1 - n : sizeof sink;
        ssize_t got = read(fds[0], dst, room);
        if (got <= 0)
            break;  /* EOF: the command (and its children) closed stdout */
        if (dst != sink)
            n += (size_t)got;
    }
    if (out && cap)
        out[n] = '\0';
    close(fds[0]);
    /* EOF came first: the command is exiting; a timeout kills its group. */
    pb_proc_t p = { pid, -1, 0, "" };
    pb_proc_stop(&p, timed_out ? SIGKILL : 0, timed_out ? 0 : 10000);
    return timed_out ? 124 : p.status;
}

void pb_log_tail(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "gridpeerbench: no log at %s\n", path);
        return;
    }
    char buf[1500];
    size_t n = 0;
    if (fseek(f, 0, SEEK_END) == 0) {
        long size = ftell(f);
        if (size > (long)sizeof buf - 1 && fseek(f, size - (long)sizeof buf + 1, SEEK_SET) != 0)
            rewind(f);
        else if (size <= (long)sizeof buf - 1)
            rewind(f);
        n = fread(buf, 1, sizeof buf - 1, f);
    }
    fclose(f);
    buf[n] = '\0';
    fprintf(stderr, "gridpeerbench: end of %s:\n%s\n", path, buf);
}

int pb_free_port(void)
{
    /* The kernel picks a free port; another process could take it before
     * the broker binds it, a race we accept on a benchmark machine. Ports
     * already handed out are not handed out again. */
    static int given[64];
    static size_t n_given;
    for (int attempt = 0; attempt < 20; attempt++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return -1;
        struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = 0 };
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof addr;
        int port = -1;
        if (bind(fd, (struct sockaddr *)&addr, sizeof addr) == 0 &&
            getsockname(fd, (struct sockaddr *)&addr, &len) == 0)
            port = ntohs(addr.sin_port);
        close(fd);
        if (port < 0)
            return -1;
        bool seen = false;
        for (size_t i = 0; i < n_given; i++)
            seen |= given[i] == port;
        if (seen)
            continue;
        given[n_given++ % 64] = port;
        return port;
    }
    return -1;
}

bool pb_port_open(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* On loopback a connect is answered at once: no timeout needed. */
    bool ok = connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0;
    close(fd);
    return ok;
}

int pb_wait_port(pb_proc_t *p, int port, double deadline, int poll_ms)
{
    while (!pb_port_open(port)) {
        if (!pb_proc_alive(p) || pb_now() > deadline || pb_stopping()) {
            if (!pb_stopping())
                pb_log_tail(p->log);
            return -1;
        }
        poll(NULL, 0, poll_ms);
    }
    return 0;
}

long pb_peak_rss_kib(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long kib = -1;
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

int pb_tempdir(char *out, size_t cap, const char *name)
{
    if ((size_t)snprintf(out, cap, "/tmp/gridpeerbench-%s-XXXXXX", name) >= cap)
        return -1;
    return mkdtemp(out) ? 0 : -1;
}

static int s_remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);  /* best effort: what cannot go stays, and is named below */
    return 0;
}

void pb_remove_tree(const char *path)
{
    if (!path[0])
        return;
    if (getenv("GR_KEEP_TEST_DIRS")) {
        fprintf(stderr, "gridpeerbench: kept %s\n", path);
        return;
    }
    nftw(path, s_remove_one, 16, FTW_DEPTH | FTW_PHYS);
    if (access(path, F_OK) == 0)
        fprintf(stderr, "gridpeerbench: could not remove %s\n", path);
}

const char *pb_find_program(const char *env_name, const char *name, const char *const *fallbacks)
{
    static char found[1024];
    const char *env = env_name ? getenv(env_name) : NULL;
    if (env && *env)
        return access(env, X_OK) == 0 ? env : NULL;
    const char *path = name ? getenv("PATH") : NULL;
    while (path && *path) {
        size_t len = strcspn(path, ":");
        snprintf(found, sizeof found, "%.*s/%s", (int)len, path, name);
        if (len > 0 && access(found, X_OK) == 0)
            return found;
        path += len + (path[len] == ':');
    }
    for (size_t i = 0; fallbacks && fallbacks[i]; i++)
        if (access(fallbacks[i], X_OK) == 0)
            return fallbacks[i];
    return NULL;
}

int pb_write_file(const char *path, const char *text, int mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return -1;
    size_t len = strlen(text), done = 0;
    while (done < len) {
        ssize_t n = write(fd, text + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            close(fd);
            return -1;
        }
        done += (size_t)n;
    }
    return close(fd);
}

/* Every struct pb_chain begins with its head (peerbench.h). */
pb_chain_head_t *pb_chain_head(pb_chain_t *c)
{
    return (pb_chain_head_t *)(void *)c;
}

/* Alive first: a port can be taken by another process once B is gone. */
bool pb_chain_middle_up(pb_chain_t *c)
{
    pb_chain_head_t *h = pb_chain_head(c);
    return pb_proc_alive(&h->broker[1]) && pb_port_open(h->port[1]);
}

/* A broker never started (pid 0) has no figure. */
void pb_chain_peak_rss(pb_chain_t *c, long out[3])
{
    const pb_chain_head_t *h = pb_chain_head(c);
    for (int i = 0; i < 3; i++)
        out[i] = h->broker[i].pid > 0 ? pb_peak_rss_kib(h->broker[i].pid) : -1;
}

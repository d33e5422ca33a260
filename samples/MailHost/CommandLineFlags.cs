using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace MailHostSample;

/// <summary>
/// The sample's flags (System.CommandLine), each turned into the configuration keys it stands for, so that a flag and a
/// line of appsettings.json or of the environment are the same setting. A list a flag gives (users, domains, aliases...)
/// replaces the list of the layers below; <c>--set KEY=VALUE</c> sets any other.
/// </summary>
internal sealed class CommandLineFlags
{
    private const string Smtp = "Mail:Smtp", Pop3 = "Mail:Pop3", Imap = "Mail:Imap";
    private static readonly string[] Servers = [Smtp, Pop3, Imap];

    // Ports: each stands for the listener of that name in appsettings.json (0 switches it off), or makes one with the
    // flag's role and TLS when the file has none of that name.
    private readonly (Option<int?> Option, string Server, string Listener, string? Role, bool ImplicitTls)[] _ports =
    [
        (Port("--smtp", "SMTP, MX role (appsettings.json: 2525)"), Smtp, "smtp", "Mx", false),
        (Port("--submission", "submission with STARTTLS, AUTH required (2587)"), Smtp, "submission", "Submission", false),
        (Port("--smtps", "submission over implicit TLS (2465)"), Smtp, "smtps", "Submission", true),
        (Port("--pop3", "POP3 with STLS (1110)"), Pop3, "pop3", null, false),
        (Port("--pop3s", "POP3 over implicit TLS (1995)"), Pop3, "pop3s", null, true),
        (Port("--imap", "IMAP with STARTTLS (1143)"), Imap, "imap", null, false),
        (Port("--imaps", "IMAP over implicit TLS (1993)"), Imap, "imaps", null, true),
    ];

    private readonly Option<string[]> _domain = Many("--domain", "NAME", "a local domain, repeatable (appsettings.json: example.test)");
    private readonly Option<string[]> _user = Many("--user", "ADDRESS:PASSWORD", "a user, repeatable (appsettings.json: alice@example.test:alice)");
    private readonly Option<string?> _usersFile = One("--users-file", "FILE", "users, one ADDRESS:PASSWORD per line");
    private readonly Option<string?> _postmaster = One("--postmaster", "ADDRESS", "who receives postmaster@ mail (default: the first user)");
    private readonly Option<string[]> _alias = Many("--alias", "ADDR:TARGET[,TARGET...]",
        "mail for ADDR goes to each TARGET (a user, another alias, or an address in another domain, forwarded through the queue); repeatable");
    private readonly Option<string[]> _list = Many("--list", "ADDR:MEMBER[,MEMBER...][:OWNER]",
        "a mailing list: each MEMBER gets a copy sent from OWNER (default postmaster@ the list's domain); repeatable");
    private readonly Option<string[]> _catchAll = Many("--catch-all", "DOMAIN:ADDR", "mail for unknown addresses of DOMAIN goes to ADDR; repeatable");
    private readonly Option<string?> _srs = One("--srs", "DOMAIN:SECRET-FILE",
        "copies forwarded to other domains leave from an SRS address of DOMAIN, signed with the file's octets (at least 16)");
    private readonly Option<string?> _aliasesFile = One("--aliases-file", "FILE",
        "aliases and catch-alls in Postfix's virtual alias table format; --alias, --list and --catch-all replace its entries of the same address");
    private readonly Option<string?> _subaddress = One("--subaddress-separator", "C|none", "alice+news@ reaches alice, filed into her folder news if she has one (default +)");
    private readonly Option<string?> _vrfy = Choice("--vrfy", "who VRFY answers truthfully (default off: 252 for everyone)");
    private readonly Option<string?> _expn = Choice("--expn", "who EXPN lists an alias's addresses (default off: 502 for everyone)");
    private readonly Option<bool> _plaintextAuth = Flag("--allow-plaintext-auth", "offer AUTH without TLS");
    private readonly Option<string?> _certificate = One("--tls-cert", "FILE", "server certificate, .pfx/.p12 or PEM (default: a generated self-signed one)");
    private readonly Option<string?> _certificatePassword = One("--tls-cert-password", "PASSWORD", "password of the .pfx");
    private readonly Option<string?> _bind = One("--bind", "ADDRESS", "address every listener binds (appsettings.json: 127.0.0.1)");
    private readonly Option<string?> _dns = One("--dns", "SERVER[:PORT]", "name server for outbound delivery (default: the system's)");
    private readonly Option<string?> _smartHost = One("--smart-host", "HOST[:PORT]", "send all outbound mail through this relay instead of MX lookups");
    private readonly Option<int?> _relayPort = Count("--relay-port", "PORT", "port of remote exchangers (default 25; for test setups)");
    private readonly Option<bool> _noDelivery = Flag("--no-delivery", "keep outbound mail in the queue instead of delivering it");
    private readonly Option<int?> _maxConnections = Count("--max-connections", "N", "concurrent connections per listener, SMTP, POP3 and IMAP (default 10000)");
    private readonly Option<int?> _maxPerAddress = Count("--max-connections-per-address", "N", "concurrent connections from one IP address (default 50)");
    private readonly Option<string?> _store = One("--store", "memory|maildir:PATH|postgres:CONNSTRING",
        "where mailboxes live (default memory; maildir: one Maildir++ per user under PATH; postgres: mailboxes several hosts serve together)");
    private readonly Option<string?> _queue = One("--queue", "memory|dir:PATH|postgres:CONNSTRING",
        "where outbound mail waits (default memory; dir: a crash-safe queue directory; postgres: a queue several hosts drain together)");
    private readonly Option<bool> _noFsync = Flag("--no-fsync", "with maildir/dir: skip flushing to the disk (faster, loses mail on power loss)");
    private readonly Option<bool> _fsyncFlags = Flag("--fsync-flags", "with maildir: flush flag changes and expunges too");
    private readonly Option<int?> _leaseSeconds = Count("--lease-seconds", "N", "how long the delivery agent holds a queue entry (default 900)");
    private readonly Option<int?> _pollSeconds = Count("--poll-seconds", "N", "how often the delivery agent looks for due mail (default 30)");
    private readonly Option<int?> _perUserHour = Count("--messages-per-user-hour", "N", "messages one authenticated user may submit per hour (default 1000; 0: no limit)", allowZero: true);
    private readonly Option<bool> _quiet = Flag("--quiet", "log warnings only, print no deliveries");
    private readonly Option<bool> _redact = Flag("--redact-personal-data", "log logins, addresses and client IPs as redacted tokens (docs/telemetry.md)");
    private readonly Option<string[]> _set = Many("--set", "KEY=VALUE", "any setting of appsettings.json, by its path (--set Mail:Smtp:MaxMessageSize=1048576); repeatable");

    public CommandLineFlags()
    {
        Command = new RootCommand("samples/MailHost: the SMTP, POP3 and IMAP servers and the delivery agent on the .NET Generic Host, set up by appsettings.json, the environment and these flags.");
        foreach (var (option, _, _, _, _) in _ports)
        {
            Command.Options.Add(option);
        }
        Option[] rest = [_domain, _user, _usersFile, _postmaster, _alias, _list, _catchAll, _srs, _aliasesFile, _subaddress, _vrfy, _expn, _plaintextAuth,
            _certificate, _certificatePassword, _bind, _dns, _smartHost, _relayPort, _noDelivery, _maxConnections, _maxPerAddress, _store, _queue,
            _noFsync, _fsyncFlags, _leaseSeconds, _pollSeconds, _perUserHour, _quiet, _redact, _set];
        foreach (var option in rest)
        {
            Command.Options.Add(option);
        }
    }

    /// <summary>The command: its options, help and parse errors.</summary>
    public RootCommand Command { get; }

    /// <summary>Whether --quiet was given.</summary>
    public bool IsQuiet(ParseResult parsed) => parsed.GetValue(_quiet);

    /// <summary>Whether --redact-personal-data was given.</summary>
    public bool IsRedacting(ParseResult parsed) => parsed.GetValue(_redact);

    /// <summary>
    /// The settings the flags give, as configuration keys, and the lists they replace, read against
    /// <paramref name="below"/> (appsettings.json and the environment) for the positions of the named listeners.
    /// </summary>
    /// <exception cref="FormatException">A flag's value is not of its form; the message names the flag.</exception>
    public (Dictionary<string, string?> Settings, List<string> ReplacedLists) ToSettings(ParseResult parsed, IConfiguration below)
    {
        var settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        var replaced = new List<string>();
        void List(string key, IEnumerable<string> items)
        {
            replaced.Add(key);
            var i = 0;
            foreach (var item in items)
            {
                settings[$"{key}:{i++}"] = item;
            }
        }

        var added = new List<string>();
        foreach (var (option, server, name, role, implicitTls) in _ports)
        {
            if (parsed.GetValue(option) is not { } port)
            {
                continue;
            }
            var at = NamedListener(below, server, name);
            if (at is null)
            {
                // Not in appsettings.json: a listener of the flag's kind, after those there and those added before.
                var listeners = below.GetSection(server + ":Listeners").GetChildren().Select(listener => listener.Path)
                    .Concat(added.Where(path => path.StartsWith(server + ":", StringComparison.Ordinal)));
                at = $"{server}:Listeners:{listeners.Count()}";
                added.Add(at);
                settings[$"{at}:Name"] = name;
                settings[$"{at}:ImplicitTls"] = implicitTls ? "true" : "false";
                Set(settings, $"{at}:Role", role);
            }
            settings[$"{at}:Enabled"] = port == 0 ? "false" : "true";
            if (port != 0)
            {
                settings[$"{at}:Port"] = port.ToString(CultureInfo.InvariantCulture);
            }
        }
        if (parsed.GetValue(_bind) is { } bind)
        {
            foreach (var listener in Servers.SelectMany(server => below.GetSection(server + ":Listeners").GetChildren()).Select(listener => listener.Path).Concat(added))
            {
                settings[listener + ":Address"] = bind;
            }
        }

        var domains = parsed.GetValue(_domain) ?? [];
        if (domains.Length > 0)
        {
            List("Mail:Policy:LocalDomains", domains);
        }
        var users = (parsed.GetValue(_user) ?? []).Select(text => Split(text, "--user", "ADDRESS:PASSWORD")).ToList();
        var usersFile = parsed.GetValue(_usersFile);
        if (users.Count > 0 || usersFile is not null)
        {
            // Users on the command line replace those of appsettings.json, its file included.
            replaced.Add("Mail:Users:Accounts");
            replaced.Add("Mail:Users:File");
            Set(settings, "Mail:Users:File", usersFile);
            for (var i = 0; i < users.Count; i++)
            {
                settings[$"Mail:Users:Accounts:{i}:Address"] = users[i].Left;
                settings[$"Mail:Users:Accounts:{i}:Password"] = users[i].Right;
            }
        }
        if (parsed.GetValue(_postmaster) is { } postmaster)
        {
            settings["Mail:Policy:PostmasterLogin"] = postmaster;
        }

        var aliases = parsed.GetValue(_alias) ?? [];
        if (aliases.Length > 0)
        {
            replaced.Add("Mail:AddressBook:Aliases");
            for (var i = 0; i < aliases.Length; i++)
            {
                var (address, targets) = Split(aliases[i], "--alias", "ADDR:TARGET[,TARGET...]");
                settings[$"Mail:AddressBook:Aliases:{i}:Address"] = address;
                Items(settings, $"Mail:AddressBook:Aliases:{i}:Targets", targets);
            }
        }
        var lists = parsed.GetValue(_list) ?? [];
        if (lists.Length > 0)
        {
            replaced.Add("Mail:AddressBook:Lists");
            for (var i = 0; i < lists.Length; i++)
            {
                var (address, rest) = Split(lists[i], "--list", "ADDR:MEMBER[,MEMBER...][:OWNER]");
                var ownerAt = rest.LastIndexOf(':');
                settings[$"Mail:AddressBook:Lists:{i}:Address"] = address;
                if (ownerAt >= 0)
                {
                    settings[$"Mail:AddressBook:Lists:{i}:Owner"] = rest[(ownerAt + 1)..].Trim();
                }
                Items(settings, $"Mail:AddressBook:Lists:{i}:Members", ownerAt >= 0 ? rest[..ownerAt] : rest);
            }
        }
        var catchAlls = parsed.GetValue(_catchAll) ?? [];
        if (catchAlls.Length > 0)
        {
            replaced.Add("Mail:AddressBook:CatchAlls");
            for (var i = 0; i < catchAlls.Length; i++)
            {
                var (domain, target) = Split(catchAlls[i], "--catch-all", "DOMAIN:ADDR");
                settings[$"Mail:AddressBook:CatchAlls:{i}:Domain"] = domain;
                Items(settings, $"Mail:AddressBook:CatchAlls:{i}:Targets", target);
            }
        }
        Set(settings, "Mail:AddressBook:VirtualAliasFile", parsed.GetValue(_aliasesFile));
        if (parsed.GetValue(_srs) is { } srs)
        {
            var (domain, secretFile) = Split(srs, "--srs", "DOMAIN:SECRET-FILE");
            settings["Mail:SenderRewriting:Domain"] = domain;
            settings["Mail:SenderRewriting:SecretFile"] = secretFile;
        }
        if (parsed.GetValue(_subaddress) is { } separator)
        {
            settings["Mail:Policy:Addressing:SubaddressSeparator"] = separator == "none" ? ""
                : separator.Length == 1 ? separator : throw new FormatException($"--subaddress-separator: one character or none, got '{separator}'");
        }

        Set(settings, "Mail:Smtp:Vrfy", parsed.GetValue(_vrfy));
        Set(settings, "Mail:Smtp:Expn", parsed.GetValue(_expn));
        foreach (var server in Servers)
        {
            if (parsed.GetValue(_plaintextAuth))
            {
                settings[server + ":AllowPlaintextAuth"] = "true";
            }
            Set(settings, server + ":Limits:MaxConnections", Text(parsed.GetValue(_maxConnections)));
            Set(settings, server + ":Limits:MaxConnectionsPerAddress", Text(parsed.GetValue(_maxPerAddress)));
        }
        if (parsed.GetValue(_certificate) is { } certificate)
        {
            settings["Mail:Tls:SelfSigned"] = "false";
            settings["Mail:Tls:CertificatePath"] = certificate;
        }
        Set(settings, "Mail:Tls:Password", parsed.GetValue(_certificatePassword));

        if (parsed.GetValue(_dns) is { } dns)
        {
            List("Mail:Delivery:NameServers", [dns]);
        }
        Set(settings, "Mail:Delivery:SmartHost", parsed.GetValue(_smartHost));
        Set(settings, "Mail:Delivery:Port", Text(parsed.GetValue(_relayPort)));
        Set(settings, "Mail:Delivery:LeaseDuration", Seconds(parsed.GetValue(_leaseSeconds)));
        Set(settings, "Mail:Delivery:PollInterval", Seconds(parsed.GetValue(_pollSeconds)));
        if (parsed.GetValue(_noDelivery))
        {
            settings["MailHost:DeliverOutbound"] = "false";
        }
        Set(settings, "MailHost:MessagesPerUserPerHour", Text(parsed.GetValue(_perUserHour)));

        // postgres:CONNSTRING puts the mailboxes, the queue or both in one database (two different ones are refused).
        void Postgres(string flag, string text, string backend)
        {
            var connectionString = text[PostgresPrefix.Length..];
            if (settings.TryGetValue("Mail:PostgreSql:ConnectionString", out var other) && other != connectionString)
            {
                throw new FormatException($"{flag}: --store and --queue name two PostgreSQL databases; one serves both.");
            }
            settings["Mail:PostgreSql:ConnectionString"] = connectionString;
            settings["Mail:PostgreSql:" + backend] = "true";
        }
        var store = parsed.GetValue(_store);
        if (IsPostgres(store))
        {
            Postgres("--store", store!, "MailboxStore");
        }
        else
        {
            Set(settings, "Mail:Maildir:RootPath", Backend(store, "--store", "maildir:"));
        }
        var queue = parsed.GetValue(_queue);
        if (IsPostgres(queue))
        {
            Postgres("--queue", queue!, "MessageQueue");
        }
        else
        {
            Set(settings, "Mail:QueueDirectory:Path", Backend(queue, "--queue", "dir:"));
        }
        if (parsed.GetValue(_noFsync))
        {
            settings["Mail:Maildir:Fsync"] = settings["Mail:QueueDirectory:Fsync"] = "false";
        }
        if (parsed.GetValue(_fsyncFlags))
        {
            settings["Mail:Maildir:FsyncFlagsAndExpunges"] = "true";
        }
        if (parsed.GetValue(_quiet))
        {
            settings["Logging:LogLevel:Default"] = settings["Logging:LogLevel:Microsoft.Hosting.Lifetime"] = "Warning";
            settings["MailHost:PrintDeliveries"] = "false";
        }
        foreach (var assignment in parsed.GetValue(_set) ?? [])
        {
            var equals = assignment.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw new FormatException($"--set: expected KEY=VALUE, got '{assignment}'");
            }
            settings[assignment[..equals]] = assignment[(equals + 1)..];
        }
        return (settings, replaced);
    }

    // The configuration path of the listener called NAME under SERVER, or null when appsettings.json has none.
    private static string? NamedListener(IConfiguration below, string server, string name) =>
        below.GetSection(server + ":Listeners").GetChildren().FirstOrDefault(listener => string.Equals(listener["Name"], name, StringComparison.Ordinal))?.Path;

    // "maildir:PATH" gives PATH; "memory" gives "" (in memory).
    private const string PostgresPrefix = "postgres:";

    private static bool IsPostgres(string? text) => text?.StartsWith(PostgresPrefix, StringComparison.Ordinal) == true && text.Length > PostgresPrefix.Length;

    private static string? Backend(string? text, string flag, string prefix) =>
        text is null ? null
        : text == "memory" ? ""
        : text.StartsWith(prefix, StringComparison.Ordinal) && text.Length > prefix.Length ? text[prefix.Length..]
        : throw new FormatException($"{flag}: expected memory or {prefix}PATH, got '{text}'");

    private static void Items(Dictionary<string, string?> settings, string key, string commaSeparated)
    {
        var items = commaSeparated.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        for (var i = 0; i < items.Length; i++)
        {
            settings[$"{key}:{i}"] = items[i];
        }
    }

    private static void Set(Dictionary<string, string?> settings, string key, string? value)
    {
        if (value is not null)
        {
            settings[key] = value;
        }
    }

    private static string? Text(int? value) => value?.ToString(CultureInfo.InvariantCulture);

    private static string? Seconds(int? value) => value is { } n ? TimeSpan.FromSeconds(n).ToString("c", CultureInfo.InvariantCulture) : null;

    // LEFT:RIGHT, split at the first colon.
    private static (string Left, string Right) Split(string text, string flag, string form)
    {
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        return colon > 0 && colon < text.Length - 1 ? (text[..colon], text[(colon + 1)..]) : throw new FormatException($"{flag}: expected {form}, got '{text}'");
    }

    private static Option<int?> Port(string name, string description)
    {
        var option = new Option<int?>(name) { Description = description + "; 0: off", HelpName = "PORT" };
        option.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int?>() is < 0 or > 65535)
            {
                result.AddError($"{name}: a port is 0 to 65535");
            }
        });
        return option;
    }

    private static Option<int?> Count(string name, string helpName, string description, bool allowZero = false)
    {
        var option = new Option<int?>(name) { Description = description, HelpName = helpName };
        option.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int?>() is { } n && (n < 0 || n == 0 && !allowZero))
            {
                result.AddError($"{name}: must be {(allowZero ? "0 or more" : "positive")}");
            }
        });
        return option;
    }

    private static Option<string?> One(string name, string helpName, string description) => new(name) { Description = description, HelpName = helpName };

    private static Option<string[]> Many(string name, string helpName, string description) =>
        new(name) { Description = description, HelpName = helpName, Arity = ArgumentArity.OneOrMore };

    private static Option<bool> Flag(string name, string description) => new(name) { Description = description };

    private static Option<string?> Choice(string name, string description)
    {
        var option = One(name, "off|authenticated|on", description);
        option.AcceptOnlyFromAmong("off", "authenticated", "on");
        return option;
    }
}

using System.Globalization;
using Mail.Protocols.Hosting;
using Mail.Protocols.InMemory;
using Mail.Protocols.RateLimits;

namespace MailHostSample;

/// <summary>The sample's command-line options, parsed into <see cref="MailHostOptions"/>.</summary>
internal sealed class CommandLine
{
    public const string Usage = """
        usage: MailHost [options]            (a port of 0 disables that endpoint)
          --smtp PORT              SMTP, MX role (default 2525)
          --submission PORT        submission with STARTTLS, AUTH required (default 2587)
          --smtps PORT             submission over implicit TLS (default 2465)
          --pop3 PORT              POP3 with STLS (default 1110)
          --pop3s PORT             POP3 over implicit TLS (default 1995)
          --imap PORT              IMAP with STARTTLS (default 1143)
          --imaps PORT             IMAP over implicit TLS (default 1993)
          --domain NAME            a local domain, repeatable (default example.test)
          --user ADDRESS:PASSWORD  a user, repeatable (default alice@example.test:alice)
          --users-file FILE        users, one ADDRESS:PASSWORD per line
          --postmaster ADDRESS     who receives postmaster@ mail (default: the first user)
          --alias ADDR:TARGET[,TARGET...]
                                   mail for ADDR goes to each TARGET (a user, another alias, or an address
                                   in another domain, forwarded through the queue); repeatable
          --list ADDR:MEMBER[,MEMBER...][:OWNER]
                                   a mailing list: each MEMBER gets a copy sent from OWNER (default
                                   postmaster@ the list's domain), who hears of members that cannot be reached
          --catch-all DOMAIN:ADDR  mail for unknown addresses of DOMAIN goes to ADDR
          --srs DOMAIN:SECRET-FILE copies forwarded to other domains leave from an SRS address of DOMAIN
                                   (signed with the file's octets, at least 16), and bounces to such
                                   addresses reach the original sender
          --aliases-file FILE      aliases and catch-alls in Postfix's virtual alias table format
                                   ("sales@example.test alice@example.test, bob@example.test", "@domain ADDR");
                                   a later --alias, --list, --catch-all or file replaces an entry of the same address
          --subaddress-separator C|none
                                   alice+news@ reaches alice, filed into her folder "news" if she has one
                                   (default +; none: off)
          --vrfy off|authenticated|on
                                   who VRFY answers truthfully (default off: 252 for everyone)
          --expn off|authenticated|on
                                   who EXPN lists an alias's addresses (default off: 502 for everyone)
          --allow-plaintext-auth   offer AUTH without TLS
          --tls-cert FILE.pfx      server certificate (default: a generated self-signed one)
          --tls-cert-password PW   password of the .pfx
          --bind ADDRESS           address to listen on (default 127.0.0.1)
          --dns SERVER[:PORT]      name server for outbound delivery (default: the system's)
          --smart-host HOST[:PORT] send all outbound mail through this relay instead of MX lookups
          --relay-port PORT        port of remote exchangers (default 25; for test setups)
          --no-delivery            keep outbound mail in the queue instead of delivering it
          --max-connections N      concurrent connections per listener, SMTP, POP3 and IMAP (default 10000)
          --max-connections-per-address N
                                   concurrent connections from one IP address (default 50)
          --store memory|maildir:PATH
                                   where mailboxes live (default memory; maildir: one Maildir++ per user under PATH)
          --queue memory|dir:PATH  where outbound mail waits (default memory; dir: a crash-safe queue directory)
          --no-fsync               with maildir/dir: skip flushing to the disk (faster, loses mail on power loss)
          --fsync-flags            with maildir: flush flag changes and expunges too (by default only new mail is
                                   flushed, as Dovecot does; a power loss may undo the last flag changes)
          --lease-seconds N        how long the delivery agent holds a queue entry (default 900)
          --poll-seconds N         how often the delivery agent looks for due mail (default 30)
          --messages-per-user-hour N
                                   messages one authenticated user may submit per hour (default 1000; 0: no limit)
          --quiet                  log warnings only
          --help                   this text
        """;

    public MailHostOptions Options { get; } = new();
    public string? CertificatePath { get; private set; }
    public string? CertificatePassword { get; private set; }
    public bool ShowHelp { get; private set; }
    public bool Quiet { get; private set; }
    public bool NoDelivery { get; private set; }
    public string Store { get; private set; } = "memory";
    public string Queue { get; private set; } = "memory";
    public bool Fsync { get; private set; } = true;
    public bool FsyncFlags { get; private set; }

    public static CommandLine Parse(string[] args)
    {
        var result = new CommandLine();
        result.Options.Delivery = new Mail.Protocols.Smtp.Delivery.DeliveryAgentOptions();
        var rateLimits = new SessionRateLimitOptions();
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            string Value() => i + 1 < args.Length ? args[++i] : throw new FormatException($"{arg} needs a value");
            try
            {
                switch (arg)
                {
                    case "--smtp": result.Options.SmtpPort = Port(Value()); break;
                    case "--submission": result.Options.SubmissionPort = Port(Value()); break;
                    case "--smtps": result.Options.SmtpsPort = Port(Value()); break;
                    case "--pop3": result.Options.Pop3Port = Port(Value()); break;
                    case "--pop3s": result.Options.Pop3sPort = Port(Value()); break;
                    case "--imap": result.Options.ImapPort = Port(Value()); break;
                    case "--imaps": result.Options.ImapsPort = Port(Value()); break;
                    case "--domain": result.Options.Domains.Add(Value()); break;
                    case "--user": result.Options.Users.Add(User(Value())); break;
                    case "--users-file":
                        foreach (var line in File.ReadLines(Value()))
                        {
                            if (!string.IsNullOrWhiteSpace(line) && !line.TrimStart().StartsWith('#'))
                            {
                                result.Options.Users.Add(User(line.Trim()));
                            }
                        }
                        break;
                    case "--postmaster": result.Options.PostmasterLogin = Value(); break;
                    case "--alias":
                        var (aliasAddress, targets) = Pair(Value(), "--alias ADDR:TARGET[,TARGET...]");
                        Aliases(result).AddAlias(aliasAddress, targets.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
                        break;
                    case "--list":
                        var (listAddress, rest) = Pair(Value(), "--list ADDR:MEMBER[,MEMBER...][:OWNER]");
                        var ownerAt = rest.LastIndexOf(':');
                        var listAt = listAddress.LastIndexOf('@');
                        var owner = ownerAt >= 0 ? rest[(ownerAt + 1)..].Trim()
                            : listAt > 0 ? "postmaster" + listAddress[listAt..] : throw new FormatException($"a list is local@domain, got '{listAddress}'");
                        Aliases(result).AddList(listAddress, owner,
                            (ownerAt >= 0 ? rest[..ownerAt] : rest).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
                        break;
                    case "--srs":
                        var (srsDomain, secretFile) = Pair(Value(), "--srs DOMAIN:SECRET-FILE");
                        result.Options.SenderRewriting = new Mail.Protocols.Addressing.SenderRewritingOptions { Domain = srsDomain, Secret = SecretOf(File.ReadAllBytes(secretFile)) };
                        break;
                    case "--catch-all":
                        var (catchAllDomain, catchAllTarget) = Pair(Value(), "--catch-all DOMAIN:ADDR");
                        Aliases(result).SetCatchAll(catchAllDomain, catchAllTarget);
                        break;
                    case "--aliases-file": VirtualAliasFile.Load(Value(), Aliases(result)); break;
                    case "--subaddress-separator":
                        var separator = Value();
                        result.Options.Addressing.SubaddressSeparator = separator == "none" ? null
                            : separator.Length == 1 ? separator[0] : throw new FormatException($"a subaddress separator is one character or none, got '{separator}'");
                        break;
                    case "--vrfy": result.Options.Smtp.Vrfy = QueryMode(Value()); break;
                    case "--expn": result.Options.Smtp.Expn = QueryMode(Value()); break;
                    case "--allow-plaintext-auth": result.Options.AllowPlaintextAuth = true; break;
                    case "--tls-cert": result.CertificatePath = Value(); break;
                    case "--tls-cert-password": result.CertificatePassword = Value(); break;
                    case "--bind": result.Options.BindAddress = System.Net.IPAddress.Parse(Value()); break;
                    case "--max-connections":
                        result.Options.Smtp.Limits.MaxConnections = result.Options.Pop3.Limits.MaxConnections = result.Options.Imap.Limits.MaxConnections = Count(Value());
                        break;
                    case "--max-connections-per-address":
                        result.Options.Smtp.Limits.MaxConnectionsPerAddress = result.Options.Pop3.Limits.MaxConnectionsPerAddress = result.Options.Imap.Limits.MaxConnectionsPerAddress = Count(Value());
                        break;
                    case "--dns":
                        var dns = new Mail.Protocols.Smtp.Dns.DnsResolverOptions();
                        dns.NameServers.Add(EndPoint(Value(), 53));
                        result.Options.DnsResolver = new Mail.Protocols.Smtp.Dns.DnsClientResolver(dns);
                        break;
                    case "--smart-host":
                        var (host, smartPort) = HostPort(Value(), 25);
                        result.Options.Delivery!.SmartHost = new System.Net.DnsEndPoint(host, smartPort);
                        break;
                    case "--relay-port": result.Options.Delivery!.Port = Port(Value()) ?? 25; break;
                    case "--no-delivery": result.NoDelivery = true; break;
                    case "--store": result.Store = Backend(Value(), "maildir:"); break;
                    case "--queue": result.Queue = Backend(Value(), "dir:"); break;
                    case "--no-fsync": result.Fsync = false; break;
                    case "--fsync-flags": result.FsyncFlags = true; break;
                    case "--lease-seconds": result.Options.Delivery!.LeaseDuration = TimeSpan.FromSeconds(Count(Value())); break;
                    case "--poll-seconds": result.Options.DeliveryPollInterval = TimeSpan.FromSeconds(Count(Value())); break;
                    case "--messages-per-user-hour":
                        var perHour = Count(Value(), allowZero: true);
                        rateLimits.MessagesPerUser = perHour == 0 ? null : new RateLimit(perHour, TimeSpan.FromHours(1));
                        break;
                    case "--quiet": result.Quiet = true; break;
                    case "--help" or "-h": result.ShowHelp = true; break;
                    default: throw new FormatException($"unknown option {arg}");
                }
            }
            catch (Exception ex) when (ex is ArgumentException or IOException or UnauthorizedAccessException)
            {
                // A bad address in an alias, an unreadable file: one error line, like any other bad option.
                throw new FormatException($"{arg}: {ex.Message}", ex);
            }
        }
        if (result.Options.Domains.Count == 0)
        {
            result.Options.Domains.Add("example.test");
        }
        if (result.Options.Users.Count == 0)
        {
            result.Options.Users.Add(("alice@example.test", "alice"));
        }
        result.Options.RateLimits = new SessionRateLimits(rateLimits);
        if (result.NoDelivery)
        {
            result.Options.Delivery = null;
        }
        return result;
    }

    // A secret file's octets, less a final line end (files written by an editor or echo have one).
    private static byte[] SecretOf(byte[] octets) => octets.AsSpan().TrimEnd("\r\n"u8).ToArray();

    private static InMemoryAddressBook Aliases(CommandLine result) =>
        (InMemoryAddressBook)(result.Options.AddressBook ??= new InMemoryAddressBook());

    private static Mail.Protocols.Smtp.AddressQueryMode QueryMode(string text) => text switch
    {
        "off" => Mail.Protocols.Smtp.AddressQueryMode.Off,
        "authenticated" => Mail.Protocols.Smtp.AddressQueryMode.Authenticated,
        "on" => Mail.Protocols.Smtp.AddressQueryMode.On,
        _ => throw new FormatException($"expected off, authenticated or on, got '{text}'"),
    };

    // LEFT:RIGHT, split at the first colon; an invalid address is reported by the address book as an ArgumentException.
    private static (string, string) Pair(string text, string form)
    {
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        return colon > 0 && colon < text.Length - 1 ? (text[..colon], text[(colon + 1)..]) : throw new FormatException($"expected {form}, got '{text}'");
    }

    // "memory", or PREFIX followed by a path.
    private static string Backend(string text, string prefix) =>
        text == "memory" || text.StartsWith(prefix, StringComparison.Ordinal) && text.Length > prefix.Length
            ? text
            : throw new FormatException($"expected memory or {prefix}PATH, got '{text}'");

    private static (string Host, int Port) HostPort(string text, int defaultPort)
    {
        var colon = text.LastIndexOf(':');
        return colon > 0 && !text.EndsWith(']') && text.Count(c => c == ':') == 1
            ? (text[..colon], Port(text[(colon + 1)..]) ?? defaultPort)
            : (text.Trim('[', ']'), defaultPort);
    }

    private static System.Net.IPEndPoint EndPoint(string text, int defaultPort)
    {
        var (host, port) = HostPort(text, defaultPort);
        return System.Net.IPAddress.TryParse(host, out var address)
            ? new System.Net.IPEndPoint(address, port)
            : throw new FormatException($"a name server is an IP address[:port], got '{text}'");
    }

    // 0 disables an endpoint.
    private static int? Port(string text) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is >= 0 and <= 65535
            ? port == 0 ? null : port
            : throw new FormatException($"invalid port '{text}'");

    private static int Count(string text, bool allowZero = false) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && (n > 0 || allowZero && n == 0)
            ? n
            : throw new FormatException($"invalid count '{text}'");

    private static (string, string) User(string text)
    {
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0 || colon == text.Length - 1 || !text[..colon].Contains('@', StringComparison.Ordinal))
        {
            throw new FormatException($"a user is ADDRESS:PASSWORD, got '{text}'");
        }
        return (text[..colon], text[(colon + 1)..]);
    }
}

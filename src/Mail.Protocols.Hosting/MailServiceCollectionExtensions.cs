using System.Diagnostics.CodeAnalysis;
using Mail.Protocols.Addressing;
using Mail.Protocols.Connections;
using Mail.Protocols.Dns;
using Mail.Protocols.Hosting.Configuration;
using Mail.Protocols.Hosting.HostedServices;
using Mail.Protocols.Imap;
using Mail.Protocols.InMemory;
using Mail.Protocols.Policy;
using Mail.Protocols.Pop3;
using Mail.Protocols.Queue;
using Mail.Protocols.RateLimits;
using Mail.Protocols.Smtp;
using Mail.Protocols.Smtp.Client;
using Mail.Protocols.Smtp.Delivery;
using Mail.Protocols.Smtp.Dns;
using Mail.Protocols.Storage;
using Mail.Protocols.Users;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Mail.Protocols.Hosting;

/// <summary>
/// Registers the mail servers and the delivery agent as hosted services of the .NET Generic Host, their settings bound
/// from configuration (appsettings.json, the environment, the command line) and checked at start, every error naming its
/// setting. The backends come from the container: <see cref="IMailboxStore"/>, <see cref="IMessageQueue"/>,
/// <see cref="IUserDirectory"/>, <see cref="IRecipientPolicy"/> (<see cref="AddRecipientPolicy"/> registers the default
/// one), and optionally <see cref="MailTlsOptions"/> (<see cref="AddMailTls"/>), <see cref="SmtpHooks"/>,
/// <see cref="SenderRewriter"/>, <see cref="IAddressBook"/>, <see cref="IDnsResolver"/>, <see cref="SessionRateLimits"/>,
/// <see cref="TimeProvider"/>. docs/hosting.md shows the configuration.
/// </summary>
public static partial class MailServiceCollectionExtensions
{
    private const string ListenersKey = "Listeners";

    /// <summary>
    /// Adds the SMTP server (<see cref="SmtpServerService"/>) with the <see cref="SmtpServerOptions"/> and the
    /// <c>Listeners</c> under <paramref name="section"/> (say <c>Mail:Smtp</c>).
    /// </summary>
    [RequiresUnreferencedCode(SettingsBinder.ReflectionReason), RequiresDynamicCode(SettingsBinder.ReflectionReason)]
    public static IServiceCollection AddSmtpServer(this IServiceCollection services, IConfiguration section) =>
        AddServer<SmtpServerOptions, SmtpListenersOptions, SmtpListenerSettings, SmtpServerService>(services, section, nameof(AddSmtpServer),
            listeners => listeners.Listeners,
            (options, provider) =>
            {
                if (options.Hooks == SmtpHooks.None && provider.GetService<SmtpHooks>() is { } hooks)
                {
                    options.Hooks = hooks;
                }
            },
            (options, path) => options.FindProblems().Any(problem => problem.Setting == nameof(options.ServerName)) ? [] : CheckServerName(options.ServerName, path));

    /// <summary>Adds the POP3 server (<see cref="Pop3ServerService"/>) with the <see cref="Pop3ServerOptions"/> and the <c>Listeners</c> under <paramref name="section"/>.</summary>
    [RequiresUnreferencedCode(SettingsBinder.ReflectionReason), RequiresDynamicCode(SettingsBinder.ReflectionReason)]
    public static IServiceCollection AddPop3Server(this IServiceCollection services, IConfiguration section) =>
        AddServer<Pop3ServerOptions, Pop3ListenersOptions, ListenerSettings, Pop3ServerService>(services, section, nameof(AddPop3Server),
            listeners => listeners.Listeners, (_, _) => { }, (_, _) => []);

    /// <summary>
    /// Adds the IMAP server (<see cref="ImapServerService"/>) with the <see cref="ImapServerOptions"/> and the
    /// <c>Listeners</c> under <paramref name="section"/>. Unless configuration names <c>FoldersAtLogin</c>, every user
    /// gets Sent, Drafts, Trash, Junk and Archive with their special-use roles at first login.
    /// </summary>
    [RequiresUnreferencedCode(SettingsBinder.ReflectionReason), RequiresDynamicCode(SettingsBinder.ReflectionReason)]
    public static IServiceCollection AddImapServer(this IServiceCollection services, IConfiguration section) =>
        AddServer<ImapServerOptions, ImapListenersOptions, ListenerSettings, ImapServerService>(services, section, nameof(AddImapServer),
            listeners => listeners.Listeners,
            (options, _) =>
            {
                // An empty FoldersAtLogin in configuration means none; not mentioned, the standard ones.
                if (options.FoldersAtLogin.Count == 0 && !SettingsBinder.Mentions(section, nameof(options.FoldersAtLogin)))
                {
                    foreach (var folder in StandardFolders.AtLogin)
                    {
                        options.FoldersAtLogin.Add(folder);
                    }
                }
            },
            (_, _) => []);

    /// <summary>
    /// Adds the delivery agent (<see cref="MailDeliveryService"/>) with the <see cref="DeliveryAgentOptions"/>,
    /// <c>PollInterval</c> and <c>SmartHost</c> (<c>host:port</c>) under <paramref name="section"/> (say <c>Mail:Delivery</c>).
    /// Without an <see cref="IDnsResolver"/> in the container, the <c>NameServers</c> of the section are asked, or the system's.
    /// </summary>
    [RequiresUnreferencedCode(SettingsBinder.ReflectionReason), RequiresDynamicCode(SettingsBinder.ReflectionReason)]
    public static IServiceCollection AddMailDelivery(this IServiceCollection services, IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(section);
        var path = Once<MailDeliveryService>(services, section, nameof(AddMailDelivery));
        static bool OwnKey(string key) => key.Equals(nameof(DeliverySettings.PollInterval), StringComparison.OrdinalIgnoreCase)
            || key.Equals(nameof(DeliverySettings.SmartHost), StringComparison.OrdinalIgnoreCase)
            || key.Equals(nameof(DeliverySettings.NameServers), StringComparison.OrdinalIgnoreCase);
        services.AddOptions<DeliverySettings>().Configure(settings => SettingsBinder.Bind(section, settings, OwnKey)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<DeliverySettings>>(new SettingsValidation<DeliverySettings>(settings => settings.Check(path)));
        services.AddOptions<DeliveryAgentOptions>()
            .Configure(options =>
            {
                SettingsBinder.Bind(section, options, key => !OwnKey(key));
                // Text that is not host:port is reported by the DeliverySettings check, once.
                if (section[nameof(DeliverySettings.SmartHost)] is { } smartHost && DeliverySettings.ParseSmartHost(smartHost) is { } endPoint)
                {
                    options.SmartHost = endPoint;
                }
            })
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<DeliveryAgentOptions>>(new SettingsValidation<DeliveryAgentOptions>(options =>
            options.FindProblems().Select(problem => $"{path}:{problem}")));
        services.TryAddSingleton<IDnsResolver>(provider =>
        {
            var resolver = new DnsResolverOptions();
            foreach (var nameServer in provider.GetRequiredService<IOptions<DeliverySettings>>().Value.NameServers)
            {
                resolver.NameServers.Add(DeliverySettings.ParseNameServer(nameServer)!);
            }
            return new DnsClientResolver(resolver);
        });
        services.AddSingleton<MailDeliveryService>();
        services.AddHostedService(provider => provider.GetRequiredService<MailDeliveryService>());
        return services;
    }

    /// <summary>
    /// Adds <see cref="DefaultRecipientPolicy"/> as the <see cref="IRecipientPolicy"/>, with the
    /// <see cref="RecipientPolicyOptions"/> under <paramref name="section"/> (say <c>Mail:Policy</c>: <c>LocalDomains</c>,
    /// <c>PostmasterLogin</c>, <c>TrustedNetworks</c> as CIDR text, <c>Addressing</c>). It uses the container's
    /// <see cref="IUserDirectory"/> and, when registered, <see cref="IAddressBook"/> and <see cref="SenderRewriter"/>.
    /// </summary>
    [RequiresUnreferencedCode(SettingsBinder.ReflectionReason), RequiresDynamicCode(SettingsBinder.ReflectionReason)]
    public static IServiceCollection AddRecipientPolicy(this IServiceCollection services, IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(section);
        var path = Once<IValidateOptions<RecipientPolicyOptions>>(services, section, nameof(AddRecipientPolicy));
        const string networksKey = nameof(RecipientPolicyOptions.TrustedNetworks);
        services.AddOptions<RecipientPolicyOptions>()
            .Configure(options =>
            {
                SettingsBinder.Bind(section, options, key => !key.Equals(networksKey, StringComparison.OrdinalIgnoreCase));
                var networks = section.GetSection(networksKey).GetChildren().ToList();
                if (networks.Count > 0)
                {
                    options.TrustedNetworks.Clear();
                }
                foreach (var network in networks)
                {
                    if (!System.Net.IPNetwork.TryParse(network.Value, out var parsed))
                    {
                        throw SettingsBinder.Refusal<RecipientPolicyOptions>(network.Path, $"'{network.Value}' is not a network in CIDR form (192.0.2.0/24, 2001:db8::/32).");
                    }
                    options.TrustedNetworks.Add(parsed);
                }
            })
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<RecipientPolicyOptions>>(new SettingsValidation<RecipientPolicyOptions>(options =>
            options.LocalDomains.Where(domain => !SmtpHelloName.IsValid(Addressing.DomainName.ToAscii(domain)) || domain.StartsWith('['))
                .Select(domain => $"{path}:LocalDomains: '{domain}' is not a domain.")));
        services.TryAddSingleton<IRecipientPolicy>(provider => new DefaultRecipientPolicy(provider.GetRequiredService<IOptions<RecipientPolicyOptions>>().Value,
            provider.GetRequiredService<IUserDirectory>(), provider.GetService<IAddressBook>(), provider.GetService<SenderRewriter>()));
        return services;
    }

    /// <summary>
    /// Adds the servers' certificate (<see cref="MailTlsOptions"/>) from the <see cref="TlsSettings"/> under
    /// <paramref name="section"/> (say <c>Mail:Tls</c>): a PKCS#12 or PEM file, or a generated one for development.
    /// </summary>
    [RequiresUnreferencedCode(SettingsBinder.ReflectionReason), RequiresDynamicCode(SettingsBinder.ReflectionReason)]
    public static IServiceCollection AddMailTls(this IServiceCollection services, IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(section);
        var path = Once<IValidateOptions<TlsSettings>>(services, section, nameof(AddMailTls));
        services.AddOptions<TlsSettings>().Configure(settings => SettingsBinder.Bind(section, settings, _ => true)).ValidateOnStart();
        // The certificate is loaded while the settings are checked, so that a file that holds no usable certificate fails
        // the start like any other mistake; the servers then get that one load.
        var loaded = new CertificateLoad();
        services.AddSingleton<IValidateOptions<TlsSettings>>(new SettingsValidation<TlsSettings>(settings => loaded.Load(settings, path)));
        services.TryAddSingleton(provider =>
        {
            _ = provider.GetRequiredService<IOptions<TlsSettings>>().Value;
            return loaded.Options!;
        });
        return services;
    }

    // One server: its settings and endpoints from the section, checked at start, and the hosted service.
    [RequiresUnreferencedCode(SettingsBinder.ReflectionReason), RequiresDynamicCode(SettingsBinder.ReflectionReason)]
    private static IServiceCollection AddServer<TOptions, TListeners, TListener, TService>(IServiceCollection services, IConfiguration section, string method,
        Func<TListeners, IList<TListener>> listenersOf, Action<TOptions, IServiceProvider> complete, Func<TOptions, string, IEnumerable<string>> check)
        where TOptions : MailServerOptions, new()
        where TListeners : class, new()
        where TListener : ListenerSettings
        where TService : class, IHostedService
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(section);
        var path = Once<TService>(services, section, method);
        AddServerSettings<TOptions>(services, section, complete, options => check(options, path), path);
        AddListeners<TListeners>(services, section, options => ListenerValidation.Check(path, listenersOf(options)),
            (options, provider) => ListenerValidation.CheckCertificate(path, listenersOf(options), HasCertificate(provider, provider.GetRequiredService<IOptions<TOptions>>().Value)));
        services.TryAddSingleton<TService>();
        services.AddHostedService(provider => provider.GetRequiredService<TService>());
        return services;
    }

    // A second call would bind the settings twice (and run a server twice).
    private static string Once<TService>(IServiceCollection services, IConfiguration section, string method)
    {
        if (services.Any(descriptor => descriptor.ServiceType == typeof(TService)))
        {
            throw new InvalidOperationException($"{method} was called already: a second call would bind its settings twice.");
        }
        return SettingsBinder.PathOf(section, null);
    }

    // The server's settings from configuration (all keys but Listeners), completed from the container: the certificate,
    // the rate limits every server shares (so failed logins over POP3 and IMAP count together), what the caller adds.
    [RequiresUnreferencedCode(SettingsBinder.ReflectionReason), RequiresDynamicCode(SettingsBinder.ReflectionReason)]
    private static void AddServerSettings<TOptions>(IServiceCollection services, IConfiguration section,
        Action<TOptions, IServiceProvider> complete, Func<TOptions, IEnumerable<string>> check, string path) where TOptions : MailServerOptions, new()
    {
        services.TryAddSingleton(provider => new SessionRateLimits(timeProvider: provider.GetService<TimeProvider>()));
        services.AddOptions<TOptions>()
            .Configure(options => SettingsBinder.Bind(section, options, key => !key.Equals(ListenersKey, StringComparison.OrdinalIgnoreCase)))
            .PostConfigure<IServiceProvider>((options, provider) =>
            {
                options.Tls ??= CertificateOrNull(provider);
                // Null means switched off (by the application's own Configure): left so.
                options.RateLimits = options.RateLimits is null ? null : provider.GetRequiredService<SessionRateLimits>();
                complete(options, provider);
            })
            .ValidateOnStart();
        // The engine's own checks (the ones its constructor would throw, one at a time, without a path) and the host's.
        services.AddSingleton<IValidateOptions<TOptions>>(new SettingsValidation<TOptions>(options =>
            options.FindProblems().Select(problem => $"{path}:{problem}").Concat(check(options))));
    }

    // The endpoints from the Listeners key. Their own check runs on them alone; the check that needs the server's settings
    // too (implicit TLS needs a certificate) runs only once both were bound, so that no mistake is reported twice.
    [RequiresUnreferencedCode(SettingsBinder.ReflectionReason), RequiresDynamicCode(SettingsBinder.ReflectionReason)]
    private static void AddListeners<TListeners>(IServiceCollection services, IConfiguration section, Func<TListeners, IEnumerable<string>> check,
        Func<TListeners, IServiceProvider, IEnumerable<string>> checkWithServer) where TListeners : class, new()
    {
        services.AddOptions<TListeners>()
            .Configure(options => SettingsBinder.Bind(section, options, key => key.Equals(ListenersKey, StringComparison.OrdinalIgnoreCase)))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<TListeners>>(provider => new SettingsValidation<TListeners>(options =>
        {
            var failures = check(options).ToList();
            if (failures.Count > 0)
            {
                return failures;
            }
            try
            {
                return checkWithServer(options, provider);
            }
            catch (OptionsValidationException)
            {
                return []; // the server's settings are wrong: their own check says how
            }
        }));
    }

    // Whether the server will have a certificate: its own, or one registered in the container (even if loading it fails:
    // that failure is reported by the certificate's settings, not here too).
    private static bool HasCertificate(IServiceProvider provider, MailServerOptions options) =>
        options.Tls is not null || provider.GetService<IServiceProviderIsService>()?.IsService(typeof(MailTlsOptions)) == true;

    private sealed class CertificateLoad
    {
        public MailTlsOptions? Options { get; private set; }

        public List<string> Load(TlsSettings settings, string path)
        {
            var failures = settings.Check(path).ToList();
            if (failures.Count == 0 && Options is null)
            {
                try
                {
                    Options = settings.CreateTlsOptions(path);
                }
                catch (OptionsValidationException refusal)
                {
                    failures.AddRange(refusal.Failures);
                }
            }
            return failures;
        }
    }

    // The container's certificate; null when its settings are wrong, which their own check reports (once).
    private static MailTlsOptions? CertificateOrNull(IServiceProvider provider)
    {
        try
        {
            return provider.GetService<MailTlsOptions>();
        }
        catch (OptionsValidationException)
        {
            return null;
        }
    }

    // A configured name must be a domain or an address literal; the machine's own name is taken as it is (EHLO then
    // gives the connection's address literal), as MailHost does.
    private static IEnumerable<string> CheckServerName(string serverName, string path)
    {
        string? reason = null;
        try
        {
            SmtpHelloName.Choose(serverName, "ServerName");
        }
        catch (ArgumentException e)
        {
            reason = SettingsBinder.Reason(e, serverName);
        }
        if (reason is not null)
        {
            yield return $"{path}:ServerName: {reason}";
        }
    }
}

using System.Diagnostics.CodeAnalysis;
using Mail.Protocols.Addressing;
using Mail.Protocols.Hosting.Configuration;
using Mail.Protocols.InMemory;
using Mail.Protocols.Maildir;
using Mail.Protocols.Maildir.Queue;
using Mail.Protocols.Queue;
using Mail.Protocols.Storage;
using Mail.Protocols.Users;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Mail.Protocols.Hosting;

// The backends the servers take from the container, from configuration: where mailboxes and the queue live, who the
// users are, the aliases and the SRS secret. Each is checked at start like the servers' settings, errors naming the setting.
public static partial class MailServiceCollectionExtensions
{
    /// <summary>
    /// Adds the in-memory backends where none is registered: <see cref="InMemoryMailboxStore"/>,
    /// <see cref="InMemoryMessageQueue"/> and <see cref="InMemoryUserDirectory"/> (each also under its own type, so that
    /// users can be added to it).
    /// </summary>
    public static IServiceCollection AddInMemoryMailBackends(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton(provider => new InMemoryMailboxStore(provider.GetService<TimeProvider>()));
        services.TryAddSingleton<IMailboxStore>(provider => provider.GetRequiredService<InMemoryMailboxStore>());
        services.TryAddSingleton(provider => new InMemoryMessageQueue(provider.GetService<TimeProvider>()));
        services.TryAddSingleton<IMessageQueue>(provider => provider.GetRequiredService<InMemoryMessageQueue>());
        services.TryAddSingleton<InMemoryUserDirectory>();
        services.TryAddSingleton<IUserDirectory>(provider => provider.GetRequiredService<InMemoryUserDirectory>());
        return services;
    }

    /// <summary>
    /// Adds an <see cref="InMemoryUserDirectory"/> (also as <see cref="IUserDirectory"/>) holding the accounts of the
    /// <see cref="UsersSettings"/> under <paramref name="section"/> (say <c>Mail:Users</c>), replacing an empty one
    /// <see cref="AddInMemoryMailBackends"/> registered. For samples, tests and small setups: the passwords are in the
    /// configuration or its file as they are.
    /// </summary>
    [RequiresUnreferencedCode(SettingsBinder.ReflectionReason), RequiresDynamicCode(SettingsBinder.ReflectionReason)]
    public static IServiceCollection AddInMemoryUsers(this IServiceCollection services, IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(section);
        var path = Once<IValidateOptions<UsersSettings>>(services, section, nameof(AddInMemoryUsers));
        var load = new LoadedAtStart<UsersSettings, InMemoryUserDirectory>(path, LoadUsers);
        AddLoaded(services, section, load);
        services.Replace(ServiceDescriptor.Singleton(provider => load.From(provider)));
        services.Replace(ServiceDescriptor.Singleton<IUserDirectory>(provider => provider.GetRequiredService<InMemoryUserDirectory>()));
        return services;
    }

    /// <summary>
    /// Adds an <see cref="InMemoryAddressBook"/> as the <see cref="IAddressBook"/> the recipient policy expands addresses
    /// with, from the <see cref="AddressBookSettings"/> under <paramref name="section"/> (say <c>Mail:AddressBook</c>):
    /// aliases, mailing lists, catch-alls and a virtual alias table.
    /// </summary>
    [RequiresUnreferencedCode(SettingsBinder.ReflectionReason), RequiresDynamicCode(SettingsBinder.ReflectionReason)]
    public static IServiceCollection AddMailAddressBook(this IServiceCollection services, IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(section);
        var path = Once<IValidateOptions<AddressBookSettings>>(services, section, nameof(AddMailAddressBook));
        var load = new LoadedAtStart<AddressBookSettings, InMemoryAddressBook>(path, LoadAddressBook);
        AddLoaded(services, section, load);
        services.Replace(ServiceDescriptor.Singleton<IAddressBook>(provider => load.From(provider)));
        return services;
    }

    /// <summary>
    /// Adds Sender Rewriting (a <see cref="SenderRewriter"/>): copies that aliases forward to other domains leave from an
    /// SRS address of <c>Domain</c>, and bounces to such addresses reach the original sender. The settings under
    /// <paramref name="section"/> (say <c>Mail:SenderRewriting</c>) are those of <see cref="SenderRewritingOptions"/>
    /// (<c>Domain</c>, <c>HashLength</c>, <c>MaxAge</c>, <c>Separator</c>) with the secrets read from files
    /// (<see cref="SenderRewritingSecrets"/>). The domain must be one of the recipient policy's local domains.
    /// </summary>
    [RequiresUnreferencedCode(SettingsBinder.ReflectionReason), RequiresDynamicCode(SettingsBinder.ReflectionReason)]
    public static IServiceCollection AddSenderRewriting(this IServiceCollection services, IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(section);
        var path = Once<IValidateOptions<SenderRewritingSecrets>>(services, section, nameof(AddSenderRewriting));
        static bool SecretKey(string key) => key.Equals(nameof(SenderRewritingSecrets.SecretFile), StringComparison.OrdinalIgnoreCase)
            || key.Equals(nameof(SenderRewritingSecrets.RetiredSecretFiles), StringComparison.OrdinalIgnoreCase);
        services.AddOptions<SenderRewritingSecrets>().Configure(secrets => SettingsBinder.Bind(section, secrets, SecretKey)).ValidateOnStart();
        services.AddOptions<SenderRewritingOptions>().Configure(options => SettingsBinder.Bind(section, options, key => !SecretKey(key))).ValidateOnStart();
        services.AddSingleton<IValidateOptions<SenderRewritingOptions>>(provider => new SettingsValidation<SenderRewritingOptions>(options =>
            CheckSenderRewritingDomain(options, path, provider)));
        // The secrets are read while their settings are checked at start; the rewriter gets them from there.
        var load = new LoadedAtStart<SenderRewritingSecrets, SecretOctets>(path, ReadSecrets);
        services.AddSingleton<IValidateOptions<SenderRewritingSecrets>>(new SettingsValidation<SenderRewritingSecrets>(load.Check));
        services.TryAddSingleton(provider =>
        {
            var secrets = load.From(provider);
            var options = provider.GetRequiredService<IOptions<SenderRewritingOptions>>().Value;
            options.Secret = secrets.Current;
            options.RetiredSecrets.Clear();
            foreach (var retired in secrets.Retired)
            {
                options.RetiredSecrets.Add(retired);
            }
            return new SenderRewriter(options, provider.GetService<TimeProvider>());
        });
        return services;
    }

    /// <summary>
    /// Adds a <see cref="MaildirMailboxStore"/> as the <see cref="IMailboxStore"/> (one Maildir++ per user under
    /// <c>RootPath</c>), replacing the in-memory one, with the <see cref="MaildirStoreOptions"/> under
    /// <paramref name="section"/> (say <c>Mail:Maildir</c>); its logs and clock come from the container.
    /// </summary>
    [RequiresUnreferencedCode(SettingsBinder.ReflectionReason), RequiresDynamicCode(SettingsBinder.ReflectionReason)]
    public static IServiceCollection AddMaildirStore(this IServiceCollection services, IConfiguration section) =>
        AddDirectoryBackend<MaildirStoreOptions, MaildirMailboxStore, IMailboxStore>(services, section, nameof(AddMaildirStore),
            options => (nameof(options.RootPath), options.RootPath, "the directory the mailboxes live under is needed."),
            (options, loggers, clock) =>
            {
                options.LoggerFactory ??= loggers;
                options.TimeProvider = clock ?? options.TimeProvider;
            },
            options => new MaildirMailboxStore(options));

    /// <summary>
    /// Adds a <see cref="FileMessageQueue"/> as the <see cref="IMessageQueue"/> (a crash-safe queue directory at
    /// <c>Path</c>), replacing the in-memory one, with the <see cref="FileMessageQueueOptions"/> under
    /// <paramref name="section"/> (say <c>Mail:QueueDirectory</c>); its logs and clock come from the container.
    /// </summary>
    [RequiresUnreferencedCode(SettingsBinder.ReflectionReason), RequiresDynamicCode(SettingsBinder.ReflectionReason)]
    public static IServiceCollection AddFileMessageQueue(this IServiceCollection services, IConfiguration section) =>
        AddDirectoryBackend<FileMessageQueueOptions, FileMessageQueue, IMessageQueue>(services, section, nameof(AddFileMessageQueue),
            options => (nameof(options.Path), options.Path, "the queue directory is needed."),
            (options, loggers, clock) =>
            {
                options.LoggerFactory ??= loggers;
                options.TimeProvider = clock ?? options.TimeProvider;
            },
            options => new FileMessageQueue(options));

    // A backend that lives in a directory: its options from the section (the directory required), its logs and clock
    // from the container, registered under its own type and in place of the in-memory one.
    [RequiresUnreferencedCode(SettingsBinder.ReflectionReason), RequiresDynamicCode(SettingsBinder.ReflectionReason)]
    private static IServiceCollection AddDirectoryBackend<TOptions, TBackend, TService>(IServiceCollection services, IConfiguration section, string method,
        Func<TOptions, (string Setting, string Value, string Missing)> directory, Action<TOptions, ILoggerFactory?, TimeProvider?> complete,
        Func<TOptions, TBackend> create)
        where TOptions : class, new() where TBackend : class, TService where TService : class
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(section);
        var path = Once<IValidateOptions<TOptions>>(services, section, method);
        services.AddOptions<TOptions>()
            .Configure(options => SettingsBinder.Bind(section, options, _ => true))
            .PostConfigure<IServiceProvider>((options, provider) => complete(options, provider.GetService<ILoggerFactory>(), provider.GetService<TimeProvider>()))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<TOptions>>(new SettingsValidation<TOptions>(options =>
            directory(options) is var (setting, value, missing) && string.IsNullOrWhiteSpace(value) ? [$"{path}:{setting}: {missing}"] : []));
        services.Replace(ServiceDescriptor.Singleton(provider => create(provider.GetRequiredService<IOptions<TOptions>>().Value)));
        services.Replace(ServiceDescriptor.Singleton<TService>(provider => provider.GetRequiredService<TBackend>()));
        return services;
    }

    // Settings bound from the section and loaded into their service while they are checked at start, so that a file that
    // cannot be read or a bad entry fails the start with the others.
    [RequiresUnreferencedCode(SettingsBinder.ReflectionReason), RequiresDynamicCode(SettingsBinder.ReflectionReason)]
    private static void AddLoaded<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicParameterlessConstructor)] TSettings, TResult>(IServiceCollection services, IConfiguration section, LoadedAtStart<TSettings, TResult> load)
        where TSettings : class, new() where TResult : class
    {
        services.AddOptions<TSettings>().Configure(settings => SettingsBinder.Bind(section, settings, _ => true)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<TSettings>>(new SettingsValidation<TSettings>(load.Check));
    }

    private static InMemoryUserDirectory LoadUsers(UsersSettings settings, string path, List<string> failures)
    {
        var directory = new InMemoryUserDirectory();
        var logins = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        void Add(string at, string? address, string? password, IEnumerable<string> aliases)
        {
            if (string.IsNullOrWhiteSpace(address) || !address.Contains('@', StringComparison.Ordinal))
            {
                failures.Add($"{at}: an account needs an address, local@domain (got '{address}').");
            }
            else if (string.IsNullOrEmpty(password))
            {
                failures.Add($"{at}: the account '{address}' needs a password.");
            }
            else if (!logins.Add(address))
            {
                failures.Add($"{at}: the account '{address}' is listed twice.");
            }
            else
            {
                try
                {
                    directory.AddUser(address, password, [.. aliases]);
                }
                catch (ArgumentException refused)
                {
                    failures.Add($"{at}: {SettingsBinder.Reason(refused, address)}");
                }
            }
        }
        for (var i = 0; i < settings.Accounts.Count; i++)
        {
            var account = settings.Accounts[i];
            Add($"{path}:Accounts:{i}", account.Address, account.Password, account.Aliases);
        }
        if (settings.File is { } file && !string.IsNullOrWhiteSpace(file))
        {
            try
            {
                var number = 0;
                foreach (var line in System.IO.File.ReadLines(file))
                {
                    number++;
                    var text = line.Trim();
                    if (text.Length == 0 || text.StartsWith('#'))
                    {
                        continue;
                    }
                    var colon = text.IndexOf(':', StringComparison.Ordinal);
                    if (colon <= 0 || colon == text.Length - 1)
                    {
                        // Not echoed: the line may hold a password.
                        failures.Add($"{path}:File: {file} line {number} is not address:password.");
                        continue;
                    }
                    Add($"{path}:File: {file} line {number}", text[..colon], text[(colon + 1)..], []);
                }
            }
            catch (Exception unreadable) when (unreadable is IOException or UnauthorizedAccessException or ArgumentException)
            {
                failures.Add($"{path}:File: cannot read '{file}': {unreadable.Message}");
            }
        }
        return directory;
    }

    private static InMemoryAddressBook LoadAddressBook(AddressBookSettings settings, string path, List<string> failures)
    {
        var book = new InMemoryAddressBook();
        if (settings.VirtualAliasFile is { } file && !string.IsNullOrWhiteSpace(file))
        {
            try
            {
                VirtualAliasFile.Load(file, book);
            }
            catch (Exception refused) when (refused is FormatException or IOException or UnauthorizedAccessException or ArgumentException)
            {
                failures.Add($"{path}:VirtualAliasFile: {refused.Message}");
            }
        }
        void Try(string at, Action add)
        {
            try
            {
                add();
            }
            catch (ArgumentException refused)
            {
                failures.Add($"{at}: {SettingsBinder.Reason(refused, null)}");
            }
        }
        for (var i = 0; i < settings.Aliases.Count; i++)
        {
            var alias = settings.Aliases[i];
            Try($"{path}:Aliases:{i}", () => book.AddAlias(Required(alias.Address, "Address"), NotEmpty(alias.Targets, "Targets")));
        }
        for (var i = 0; i < settings.Lists.Count; i++)
        {
            var list = settings.Lists[i];
            Try($"{path}:Lists:{i}", () =>
            {
                var address = Required(list.Address, "Address");
                var at = address.LastIndexOf('@');
                book.AddList(address, list.Owner ?? (at > 0 ? "postmaster" + address[at..] : address), NotEmpty(list.Members, "Members"));
            });
        }
        for (var i = 0; i < settings.CatchAlls.Count; i++)
        {
            var catchAll = settings.CatchAlls[i];
            Try($"{path}:CatchAlls:{i}", () => book.SetCatchAll(Required(catchAll.Domain, "Domain"), NotEmpty(catchAll.Targets, "Targets")));
        }
        return book;
    }

    private static string Required(string? value, string name) =>
        string.IsNullOrWhiteSpace(value) ? throw new ArgumentException($"{name} is needed.") : value;

    private static IList<string> NotEmpty(IList<string> values, string name) =>
        values.Count == 0 ? throw new ArgumentException($"{name} needs at least one address.") : values;

    /// <summary>The SRS secrets read from their files.</summary>
    private sealed record SecretOctets(byte[] Current, List<byte[]> Retired);

    // The SRS secrets from their files, each less a final line end and at least 16 octets.
    private static SecretOctets? ReadSecrets(SenderRewritingSecrets secrets, string path, List<string> failures)
    {
        byte[]? Read(string? file, string at)
        {
            if (string.IsNullOrWhiteSpace(file))
            {
                failures.Add($"{at}: the file holding the secret is needed.");
                return null;
            }
            try
            {
                var octets = File.ReadAllBytes(file).AsSpan().TrimEnd("\r\n"u8).ToArray();
                if (octets.Length < SenderRewritingOptions.MinSecretLength)
                {
                    failures.Add($"{at}: '{file}' holds {octets.Length} octets; a secret has at least {SenderRewritingOptions.MinSecretLength}.");
                    return null;
                }
                return octets;
            }
            catch (Exception unreadable) when (unreadable is IOException or UnauthorizedAccessException or ArgumentException)
            {
                failures.Add($"{at}: cannot read '{file}': {unreadable.Message}");
                return null;
            }
        }
        var current = Read(secrets.SecretFile, $"{path}:SecretFile");
        var retired = new List<byte[]>();
        for (var i = 0; i < secrets.RetiredSecretFiles.Count; i++)
        {
            if (Read(secrets.RetiredSecretFiles[i], $"{path}:RetiredSecretFiles:{i}") is { } octets)
            {
                retired.Add(octets);
            }
        }
        return current is null ? null : new SecretOctets(current, retired);
    }

    // The SRS domain is needed, and must be one of the recipient policy's local domains when that policy comes from
    // configuration too: bounces to the SRS addresses would otherwise be refused as relaying.
    private static List<string> CheckSenderRewritingDomain(SenderRewritingOptions options, string path, IServiceProvider provider)
    {
        if (options.Domain is not { } domain)
        {
            return [$"{path}:Domain: the domain of the SRS addresses is needed (one of the local domains)."];
        }
        if (provider.GetService<IServiceProviderIsService>()?.IsService(typeof(IValidateOptions<Policy.RecipientPolicyOptions>)) != true)
        {
            return [];
        }
        try
        {
            var local = provider.GetRequiredService<IOptions<Policy.RecipientPolicyOptions>>().Value.LocalDomains;
            return local.Contains(domain, Addressing.DomainName.Comparer) ? []
                : [$"{path}:Domain: '{domain}' must be one of the local domains ({string.Join(", ", local)})."];
        }
        catch (OptionsValidationException)
        {
            return []; // the policy's own settings are wrong: their check says how
        }
    }

    /// <summary>What settings load into at start: the check fills it, the service's factory hands it out.</summary>
    private sealed class LoadedAtStart<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicParameterlessConstructor)] TSettings, TResult>(string path, Func<TSettings, string, List<string>, TResult?> load)
        where TSettings : class where TResult : class
    {
        private TResult? _result;

        public List<string> Check(TSettings settings)
        {
            var failures = new List<string>();
            var result = load(settings, path, failures);
            if (failures.Count == 0)
            {
                Interlocked.CompareExchange(ref _result, result, null);
            }
            return failures;
        }

        // Asking for the settings runs their check (once), which loads the result.
        public TResult From(IServiceProvider provider)
        {
            _ = provider.GetRequiredService<IOptions<TSettings>>().Value;
            return _result!;
        }
    }
}

namespace Mail.Protocols.Hosting.Configuration;

/// <summary>
/// The aliases, mailing lists and catch-alls of the local domains, from configuration (<c>Mail:AddressBook</c>), and a
/// table in Postfix's virtual alias format. Entries given later replace earlier ones of the same address: the file,
/// then <see cref="Aliases"/>, <see cref="Lists"/> and <see cref="CatchAlls"/>. docs/addressing.md says how they expand.
/// </summary>
public sealed class AddressBookSettings
{
    /// <summary>A virtual alias table (<c>sales@example.test alice@example.test, bob@example.test</c>, <c>@domain ADDR</c>).</summary>
    public string? VirtualAliasFile { get; set; }

    /// <summary>Aliases: mail for the address goes to each target (a user, another alias, or an address in another domain).</summary>
    public IList<AliasSettings> Aliases { get; } = [];

    /// <summary>Mailing lists: each member gets a copy sent from the owner, who hears of members that cannot be reached.</summary>
    public IList<MailingListSettings> Lists { get; } = [];

    /// <summary>Catch-alls: mail for unknown addresses of the domain goes to the targets.</summary>
    public IList<CatchAllSettings> CatchAlls { get; } = [];
}

/// <summary>One alias.</summary>
public sealed class AliasSettings
{
    /// <summary>The alias, local@domain.</summary>
    public string? Address { get; set; }

    /// <summary>Where its mail goes.</summary>
    public IList<string> Targets { get; } = [];
}

/// <summary>One mailing list.</summary>
public sealed class MailingListSettings
{
    /// <summary>The list's address, local@domain.</summary>
    public string? Address { get; set; }

    /// <summary>The envelope sender of the copies, who gets the bounces. Defaults to postmaster@ the list's domain.</summary>
    public string? Owner { get; set; }

    /// <summary>The members.</summary>
    public IList<string> Members { get; } = [];
}

/// <summary>One catch-all.</summary>
public sealed class CatchAllSettings
{
    /// <summary>The local domain.</summary>
    public string? Domain { get; set; }

    /// <summary>Where mail for its unknown addresses goes.</summary>
    public IList<string> Targets { get; } = [];
}

/// <summary>
/// The secrets of Sender Rewriting (<c>Mail:SenderRewriting</c>), read from files so that they stay out of the
/// configuration: the current one signs, retired ones still verify bounces to addresses signed before a change.
/// </summary>
public sealed class SenderRewritingSecrets
{
    /// <summary>The file whose octets are the secret (at least 16; a final line end is not part of it).</summary>
    public string? SecretFile { get; set; }

    /// <summary>Files of secrets no longer used to sign, still accepted.</summary>
    public IList<string> RetiredSecretFiles { get; } = [];
}

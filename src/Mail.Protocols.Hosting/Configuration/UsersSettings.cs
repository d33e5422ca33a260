namespace Mail.Protocols.Hosting.Configuration;

/// <summary>
/// The users of an in-memory user directory, from configuration (<c>Mail:Users</c>): accounts listed in it, and a file
/// of more. Meant for samples, tests and small setups: the passwords are in the configuration or the file as they are,
/// so both must be readable by the service alone. A production backend implements <c>IUserDirectory</c> over its own store.
/// </summary>
public sealed class UsersSettings
{
    /// <summary>The accounts.</summary>
    public IList<UserAccountSettings> Accounts { get; } = [];

    /// <summary>A file of further accounts, one <c>address:password</c> per line; blank lines and lines starting with # are skipped.</summary>
    public string? File { get; set; }
}

/// <summary>One account: its address (also its login), its password and the further addresses that reach it.</summary>
public sealed class UserAccountSettings
{
    /// <summary>The address, local@domain; also the login.</summary>
    public string? Address { get; set; }

    /// <summary>The password.</summary>
    public string? Password { get; set; }

    /// <summary>Further addresses delivered to this user.</summary>
    public IList<string> Aliases { get; } = [];
}

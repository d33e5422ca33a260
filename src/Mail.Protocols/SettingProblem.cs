namespace Mail.Protocols;

/// <summary>
/// A setting that cannot be used as it is: its name, as a configuration path relative to the settings object
/// (<c>IdleTimeout</c>, <c>AuthMechanisms:2</c>), and what is wrong with it.
/// </summary>
/// <param name="Setting">The setting's name or path.</param>
/// <param name="Message">What is wrong, as a sentence.</param>
public sealed record SettingProblem(string Setting, string Message)
{
    /// <inheritdoc />
    public override string ToString() => $"{Setting}: {Message}";
}

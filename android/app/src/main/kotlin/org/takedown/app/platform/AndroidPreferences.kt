package org.takedown.app.platform

import android.content.ComponentName
import android.content.Context
import android.content.pm.PackageManager
import org.takedown.app.viewmodel.AppPreferences

/** The two settings, in SharedPreferences (no backup: see the manifest). */
class AndroidPreferences(private val context: Context) : AppPreferences {
    private val prefs = context.getSharedPreferences("settings", Context.MODE_PRIVATE)

    override var lockEnabled: Boolean
        get() = prefs.getBoolean("lock", false)
        set(value) = prefs.edit().putBoolean("lock", value).apply()

    /** Switches the launcher entry between the two activity-aliases of the manifest. */
    override var neutralIcon: Boolean
        get() = prefs.getBoolean("neutral_icon", false)
        set(value) {
            prefs.edit().putBoolean("neutral_icon", value).apply()
            val pm = context.packageManager
            fun set(alias: String, on: Boolean) = pm.setComponentEnabledSetting(
                ComponentName(context, "org.takedown.app.$alias"),
                if (on) PackageManager.COMPONENT_ENABLED_STATE_ENABLED else PackageManager.COMPONENT_ENABLED_STATE_DISABLED,
                PackageManager.DONT_KILL_APP,
            )
            set("LauncherNeutral", value)
            set("Launcher", !value)
        }
}

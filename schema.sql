-- dcabot schema for PostgreSQL, generated from saas/models by `flask --app saas schema`.
-- Do not edit: change the models and regenerate (a test fails when this file is stale).

CREATE TABLE IF NOT EXISTS login_throttles (
	id SERIAL NOT NULL,
	scope VARCHAR(16) NOT NULL,
	key VARCHAR(64) NOT NULL,
	failures INTEGER DEFAULT 0 NOT NULL,
	window_start TIMESTAMP WITH TIME ZONE NOT NULL,
	CONSTRAINT pk_login_throttles PRIMARY KEY (id),
	CONSTRAINT uq_login_throttles_scope_key UNIQUE (scope, key),
	CONSTRAINT ck_login_throttles_failures CHECK (failures >= 0)
);

CREATE TABLE IF NOT EXISTS plans (
	key VARCHAR(32) NOT NULL,
	name VARCHAR(64) DEFAULT '' NOT NULL,
	CONSTRAINT pk_plans PRIMARY KEY (key)
);

CREATE TABLE IF NOT EXISTS stripe_events (
	id SERIAL NOT NULL,
	event_id VARCHAR(255) NOT NULL,
	type VARCHAR(100) NOT NULL,
	processed_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL,
	CONSTRAINT pk_stripe_events PRIMARY KEY (id),
	CONSTRAINT uq_stripe_events_event_id UNIQUE (event_id)
);

CREATE TABLE IF NOT EXISTS users (
	id SERIAL NOT NULL,
	email VARCHAR(255) NOT NULL,
	password_hash VARCHAR(255) NOT NULL,
	email_verified BOOLEAN DEFAULT false NOT NULL,
	role VARCHAR(16) DEFAULT 'user' NOT NULL,
	status VARCHAR(16) DEFAULT 'active' NOT NULL,
	totp_secret_encrypted TEXT,
	failed_logins INTEGER DEFAULT 0 NOT NULL,
	locked_until TIMESTAMP WITH TIME ZONE,
	last_login_at TIMESTAMP WITH TIME ZONE,
	plan VARCHAR(32) DEFAULT 'free' NOT NULL,
	plan_status VARCHAR(32),
	plan_period_end TIMESTAMP WITH TIME ZONE,
	stripe_customer_id VARCHAR(64),
	stripe_subscription_id VARCHAR(64),
	plan_interval VARCHAR(8),
	plan_cancel_at_period_end BOOLEAN DEFAULT false NOT NULL,
	plan_grace_until TIMESTAMP WITH TIME ZONE,
	checkout_nonce INTEGER DEFAULT 0 NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL,
	updated_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL,
	suspended_reason TEXT,
	suspended_at TIMESTAMP WITH TIME ZONE,
	plan_override VARCHAR(32),
	plan_override_until TIMESTAMP WITH TIME ZONE,
	session_generation INTEGER DEFAULT '0' NOT NULL,
	CONSTRAINT pk_users PRIMARY KEY (id),
	CONSTRAINT ck_users_role CHECK (role IN ('user', 'support', 'admin')),
	CONSTRAINT ck_users_status CHECK (status IN ('active', 'suspended')),
	CONSTRAINT ck_users_plan_status CHECK (plan_status IS NULL OR plan_status IN ('active', 'trialing', 'past_due', 'canceled', 'unpaid', 'incomplete', 'incomplete_expired', 'paused')),
	CONSTRAINT ck_users_failed_logins CHECK (failed_logins >= 0),
	CONSTRAINT ck_users_plan_interval CHECK (plan_interval IS NULL OR plan_interval IN ('month', 'year')),
	CONSTRAINT ck_users_checkout_nonce CHECK (checkout_nonce >= 0),
	CONSTRAINT uq_users_email UNIQUE (email),
	CONSTRAINT fk_users_plan_plans FOREIGN KEY(plan) REFERENCES plans (key) ON UPDATE CASCADE,
	CONSTRAINT uq_users_stripe_customer_id UNIQUE (stripe_customer_id),
	CONSTRAINT uq_users_stripe_subscription_id UNIQUE (stripe_subscription_id)
);

CREATE INDEX IF NOT EXISTS ix_users_created_at_id ON users (created_at, id);

CREATE INDEX IF NOT EXISTS ix_users_email_pattern ON users (email varchar_pattern_ops);

CREATE INDEX IF NOT EXISTS ix_users_plan_id ON users (plan, id);

CREATE INDEX IF NOT EXISTS ix_users_status ON users (status);

CREATE TABLE IF NOT EXISTS api_tokens (
	id SERIAL NOT NULL,
	user_id INTEGER NOT NULL,
	name VARCHAR(100) NOT NULL,
	prefix VARCHAR(16) NOT NULL,
	token_hash VARCHAR(64) NOT NULL,
	scope VARCHAR(8) DEFAULT 'read' NOT NULL,
	expires_at TIMESTAMP WITH TIME ZONE,
	last_used_at TIMESTAMP WITH TIME ZONE,
	revoked_at TIMESTAMP WITH TIME ZONE,
	created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL,
	CONSTRAINT pk_api_tokens PRIMARY KEY (id),
	CONSTRAINT ck_api_tokens_scope CHECK (scope IN ('read', 'trade', 'admin')),
	CONSTRAINT ck_api_tokens_name CHECK (name <> ''),
	CONSTRAINT fk_api_tokens_user_id_users FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE,
	CONSTRAINT uq_api_tokens_token_hash UNIQUE (token_hash)
);

CREATE INDEX IF NOT EXISTS ix_api_tokens_user_id ON api_tokens (user_id);

CREATE TABLE IF NOT EXISTS audit_logs (
	id SERIAL NOT NULL,
	user_id INTEGER,
	action VARCHAR(64) NOT NULL,
	target_type VARCHAR(32),
	target_id INTEGER,
	before JSONB,
	after JSONB,
	ip VARCHAR(45),
	created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL,
	CONSTRAINT pk_audit_logs PRIMARY KEY (id),
	CONSTRAINT fk_audit_logs_user_id_users FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE SET NULL
);

CREATE INDEX IF NOT EXISTS ix_audit_logs_target_type_target_id ON audit_logs (target_type, target_id);

CREATE INDEX IF NOT EXISTS ix_audit_logs_user_id_created_at ON audit_logs (user_id, created_at);

CREATE TABLE IF NOT EXISTS bots (
	id SERIAL NOT NULL,
	user_id INTEGER NOT NULL,
	name VARCHAR(100) NOT NULL,
	exchange VARCHAR(16) NOT NULL,
	testnet BOOLEAN DEFAULT true NOT NULL,
	api_key_encrypted TEXT,
	api_secret_encrypted TEXT,
	status VARCHAR(16) DEFAULT 'stopped' NOT NULL,
	run_interval_minutes INTEGER DEFAULT 5 NOT NULL,
	last_run_at TIMESTAMP WITH TIME ZONE,
	next_run_at TIMESTAMP WITH TIME ZONE,
	last_outcome VARCHAR(16),
	last_error TEXT,
	created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL,
	updated_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL,
	key_check JSONB,
	CONSTRAINT pk_bots PRIMARY KEY (id),
	CONSTRAINT ck_bots_exchange CHECK (exchange IN ('phemex', 'bybit', 'paper')),
	CONSTRAINT ck_bots_status CHECK (status IN ('stopped', 'running', 'paused', 'error')),
	CONSTRAINT ck_bots_last_outcome CHECK (last_outcome IS NULL OR last_outcome IN ('running', 'ok', 'skipped', 'error', 'auth_error', 'locked')),
	CONSTRAINT ck_bots_run_interval_minutes CHECK (run_interval_minutes > 0),
	CONSTRAINT ck_bots_keys_to_run CHECK (exchange = 'paper' OR status <> 'running' OR (api_key_encrypted IS NOT NULL AND api_secret_encrypted IS NOT NULL)),
	CONSTRAINT fk_bots_user_id_users FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX IF NOT EXISTS ix_bots_status_next_run_at ON bots (status, next_run_at);

CREATE UNIQUE INDEX IF NOT EXISTS ix_bots_user_id_name ON bots (user_id, name);

CREATE TABLE IF NOT EXISTS invoices (
	id SERIAL NOT NULL,
	stripe_invoice_id VARCHAR(255) NOT NULL,
	user_id INTEGER,
	number VARCHAR(64),
	amount_due NUMERIC(28, 10) DEFAULT 0 NOT NULL,
	amount_paid NUMERIC(28, 10) DEFAULT 0 NOT NULL,
	currency VARCHAR(8) DEFAULT 'usd' NOT NULL,
	status VARCHAR(16) NOT NULL,
	attempt_count INTEGER DEFAULT 0 NOT NULL,
	next_attempt_at TIMESTAMP WITH TIME ZONE,
	hosted_url TEXT,
	created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL,
	updated_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL,
	CONSTRAINT pk_invoices PRIMARY KEY (id),
	CONSTRAINT ck_invoices_status CHECK (status IN ('draft', 'open', 'paid', 'failed', 'void', 'uncollectible')),
	CONSTRAINT uq_invoices_stripe_invoice_id UNIQUE (stripe_invoice_id),
	CONSTRAINT fk_invoices_user_id_users FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE SET NULL
);

CREATE INDEX IF NOT EXISTS ix_invoices_status_created_at ON invoices (status, created_at);

CREATE INDEX IF NOT EXISTS ix_invoices_user_id_created_at ON invoices (user_id, created_at);

CREATE TABLE IF NOT EXISTS notification_settings (
	id SERIAL NOT NULL,
	user_id INTEGER NOT NULL,
	telegram_enabled BOOLEAN DEFAULT false NOT NULL,
	telegram_chat_id VARCHAR(64),
	telegram_bot_token_encrypted TEXT,
	email_enabled BOOLEAN DEFAULT false NOT NULL,
	updated_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL,
	webhooks_enabled BOOLEAN DEFAULT false NOT NULL,
	kind_channels JSONB,
	muted_bot_ids JSONB,
	quiet_start_hour INTEGER,
	quiet_end_hour INTEGER,
	email_digest_minutes INTEGER DEFAULT '0' NOT NULL,
	last_email_at TIMESTAMP WITH TIME ZONE,
	telegram_link_hash VARCHAR(64),
	telegram_link_expires_at TIMESTAMP WITH TIME ZONE,
	seen_at TIMESTAMP WITH TIME ZONE,
	CONSTRAINT pk_notification_settings PRIMARY KEY (id),
	CONSTRAINT uq_notification_settings_user_id UNIQUE (user_id),
	CONSTRAINT fk_notification_settings_user_id_users FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX IF NOT EXISTS ix_notification_settings_telegram_link_hash ON notification_settings (telegram_link_hash);

CREATE TABLE IF NOT EXISTS subscriptions (
	id SERIAL NOT NULL,
	user_id INTEGER,
	source VARCHAR(8) NOT NULL,
	plan VARCHAR(32) NOT NULL,
	interval VARCHAR(8),
	monthly_amount NUMERIC(28, 10) DEFAULT 0 NOT NULL,
	currency VARCHAR(8) DEFAULT 'usd' NOT NULL,
	stripe_subscription_id VARCHAR(64),
	started_at TIMESTAMP WITH TIME ZONE NOT NULL,
	ended_at TIMESTAMP WITH TIME ZONE,
	CONSTRAINT pk_subscriptions PRIMARY KEY (id),
	CONSTRAINT ck_subscriptions_source CHECK (source IN ('stripe', 'manual')),
	CONSTRAINT ck_subscriptions_monthly_amount CHECK (monthly_amount >= 0),
	CONSTRAINT fk_subscriptions_user_id_users FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE SET NULL
);

CREATE INDEX IF NOT EXISTS ix_subscriptions_ended_at ON subscriptions (ended_at);

CREATE INDEX IF NOT EXISTS ix_subscriptions_started_at ON subscriptions (started_at);

CREATE INDEX IF NOT EXISTS ix_subscriptions_user_id_ended_at ON subscriptions (user_id, ended_at);

CREATE TABLE IF NOT EXISTS webhook_endpoints (
	id SERIAL NOT NULL,
	user_id INTEGER NOT NULL,
	url TEXT NOT NULL,
	secret_encrypted TEXT DEFAULT '' NOT NULL,
	enabled BOOLEAN DEFAULT true NOT NULL,
	disabled_reason TEXT,
	failing_since TIMESTAMP WITH TIME ZONE,
	created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL,
	CONSTRAINT pk_webhook_endpoints PRIMARY KEY (id),
	CONSTRAINT fk_webhook_endpoints_user_id_users FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX IF NOT EXISTS ix_webhook_endpoints_user_id ON webhook_endpoints (user_id);

CREATE TABLE IF NOT EXISTS bot_daily_stats (
	id SERIAL NOT NULL,
	bot_id INTEGER NOT NULL,
	day DATE NOT NULL,
	trades INTEGER DEFAULT 0 NOT NULL,
	closes INTEGER DEFAULT 0 NOT NULL,
	wins INTEGER DEFAULT 0 NOT NULL,
	losses INTEGER DEFAULT 0 NOT NULL,
	realised_pnl NUMERIC(28, 10) DEFAULT 0 NOT NULL,
	fees NUMERIC(28, 10) DEFAULT 0 NOT NULL,
	volume NUMERIC(28, 10) DEFAULT 0 NOT NULL,
	balance NUMERIC(28, 10),
	unrealised_pnl NUMERIC(28, 10) DEFAULT 0 NOT NULL,
	margin NUMERIC(28, 10) DEFAULT 0 NOT NULL,
	min_margin_level NUMERIC(28, 10),
	positions JSONB DEFAULT '{}' NOT NULL,
	last_trade_at TIMESTAMP WITH TIME ZONE,
	updated_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL,
	CONSTRAINT pk_bot_daily_stats PRIMARY KEY (id),
	CONSTRAINT uq_bot_daily_stats_bot_id_day UNIQUE (bot_id, day),
	CONSTRAINT fk_bot_daily_stats_bot_id_bots FOREIGN KEY(bot_id) REFERENCES bots (id) ON DELETE CASCADE
);

CREATE TABLE IF NOT EXISTS bot_runs (
	id SERIAL NOT NULL,
	bot_id INTEGER NOT NULL,
	started_at TIMESTAMP WITH TIME ZONE NOT NULL,
	finished_at TIMESTAMP WITH TIME ZONE,
	duration_ms INTEGER,
	outcome VARCHAR(16) DEFAULT 'running' NOT NULL,
	conclusions JSONB DEFAULT '{}' NOT NULL,
	CONSTRAINT pk_bot_runs PRIMARY KEY (id),
	CONSTRAINT ck_bot_runs_outcome CHECK (outcome IN ('running', 'ok', 'skipped', 'error', 'auth_error', 'locked')),
	CONSTRAINT ck_bot_runs_duration_ms CHECK (duration_ms IS NULL OR duration_ms >= 0),
	CONSTRAINT fk_bot_runs_bot_id_bots FOREIGN KEY(bot_id) REFERENCES bots (id) ON DELETE CASCADE
);

CREATE INDEX IF NOT EXISTS ix_bot_runs_bot_id_started_at ON bot_runs (bot_id, started_at);

CREATE INDEX IF NOT EXISTS ix_bot_runs_started_at ON bot_runs (started_at);

CREATE TABLE IF NOT EXISTS notification_outbox (
	id SERIAL NOT NULL,
	event_id VARCHAR(36) NOT NULL,
	user_id INTEGER,
	bot_id INTEGER,
	kind VARCHAR(40) NOT NULL,
	severity VARCHAR(10) DEFAULT 'info' NOT NULL,
	fields JSONB DEFAULT '{}' NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL,
	dispatched_at TIMESTAMP WITH TIME ZONE,
	dedupe_key VARCHAR(120),
	CONSTRAINT pk_notification_outbox PRIMARY KEY (id),
	CONSTRAINT uq_notification_outbox_event_id UNIQUE (event_id),
	CONSTRAINT fk_notification_outbox_user_id_users FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE,
	CONSTRAINT fk_notification_outbox_bot_id_bots FOREIGN KEY(bot_id) REFERENCES bots (id) ON DELETE SET NULL,
	CONSTRAINT uq_notification_outbox_dedupe_key UNIQUE (dedupe_key)
);

CREATE INDEX IF NOT EXISTS ix_notification_outbox_dispatched_at_id ON notification_outbox (dispatched_at, id);

CREATE INDEX IF NOT EXISTS ix_notification_outbox_user_id_id ON notification_outbox (user_id, id);

CREATE TABLE IF NOT EXISTS paper_accounts (
	id SERIAL NOT NULL,
	bot_id INTEGER NOT NULL,
	initial_balance NUMERIC(28, 10) NOT NULL,
	wallet NUMERIC(28, 10) NOT NULL,
	state JSONB DEFAULT '{}' NOT NULL,
	updated_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL,
	CONSTRAINT pk_paper_accounts PRIMARY KEY (id),
	CONSTRAINT ck_paper_accounts_initial_balance CHECK (initial_balance > 0),
	CONSTRAINT uq_paper_accounts_bot_id UNIQUE (bot_id),
	CONSTRAINT fk_paper_accounts_bot_id_bots FOREIGN KEY(bot_id) REFERENCES bots (id) ON DELETE CASCADE
);

CREATE TABLE IF NOT EXISTS trading_pairs (
	id SERIAL NOT NULL,
	bot_id INTEGER NOT NULL,
	symbol VARCHAR(32) NOT NULL,
	side VARCHAR(8) NOT NULL,
	leverage NUMERIC(28, 10) DEFAULT 10 NOT NULL,
	ema_interval INTEGER DEFAULT 1 NOT NULL,
	automatic_mode BOOLEAN DEFAULT true NOT NULL,
	strategy VARCHAR(32) DEFAULT 'martingale' NOT NULL,
	strategy_params JSONB DEFAULT '{}' NOT NULL,
	is_active BOOLEAN DEFAULT true NOT NULL,
	alert_keys JSONB DEFAULT '[]' NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL,
	updated_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL,
	margin_mode VARCHAR(8) DEFAULT 'cross' NOT NULL,
	exchange_margin_mode VARCHAR(8),
	CONSTRAINT pk_trading_pairs PRIMARY KEY (id),
	CONSTRAINT uq_trading_pairs_bot_id_symbol_side UNIQUE (bot_id, symbol, side),
	CONSTRAINT ck_trading_pairs_side CHECK (side IN ('Long', 'Short')),
	CONSTRAINT ck_trading_pairs_leverage CHECK (leverage > 0 AND leverage <= 125),
	CONSTRAINT ck_trading_pairs_ema_interval CHECK (ema_interval IN (1, 5, 15, 30, 60, 240, 1440, 10080, 43200, 129600, 518400)),
	CONSTRAINT ck_trading_pairs_symbol CHECK (symbol <> ''),
	CONSTRAINT ck_trading_pairs_margin_mode CHECK (margin_mode IN ('cross', 'isolated')),
	CONSTRAINT fk_trading_pairs_bot_id_bots FOREIGN KEY(bot_id) REFERENCES bots (id) ON DELETE CASCADE
);

CREATE TABLE IF NOT EXISTS backtests (
	id SERIAL NOT NULL,
	user_id INTEGER NOT NULL,
	pair_id INTEGER,
	symbol VARCHAR(32) NOT NULL,
	side VARCHAR(8) NOT NULL,
	strategy VARCHAR(32) DEFAULT 'martingale' NOT NULL,
	params JSONB DEFAULT '{}' NOT NULL,
	balance NUMERIC(28, 10) NOT NULL,
	leverage NUMERIC(28, 10) NOT NULL,
	interval_minutes INTEGER DEFAULT 5 NOT NULL,
	ema_interval INTEGER,
	start_at TIMESTAMP WITH TIME ZONE NOT NULL,
	end_at TIMESTAMP WITH TIME ZONE NOT NULL,
	status VARCHAR(16) DEFAULT 'queued' NOT NULL,
	progress INTEGER DEFAULT 0 NOT NULL,
	message TEXT DEFAULT '' NOT NULL,
	data_file TEXT DEFAULT '' NOT NULL,
	metrics JSONB DEFAULT '{}' NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL,
	started_at TIMESTAMP WITH TIME ZONE,
	finished_at TIMESTAMP WITH TIME ZONE,
	heartbeat_at TIMESTAMP WITH TIME ZONE,
	margin_mode VARCHAR(8) DEFAULT 'cross' NOT NULL,
	CONSTRAINT pk_backtests PRIMARY KEY (id),
	CONSTRAINT ck_backtests_status CHECK (status IN ('queued', 'running', 'done', 'error')),
	CONSTRAINT ck_backtests_progress CHECK (progress >= 0 AND progress <= 1000),
	CONSTRAINT ck_backtests_period CHECK (end_at > start_at),
	CONSTRAINT fk_backtests_user_id_users FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE,
	CONSTRAINT fk_backtests_pair_id_trading_pairs FOREIGN KEY(pair_id) REFERENCES trading_pairs (id) ON DELETE SET NULL
);

CREATE INDEX IF NOT EXISTS ix_backtests_status_created_at ON backtests (status, created_at);

CREATE INDEX IF NOT EXISTS ix_backtests_user_id_created_at ON backtests (user_id, created_at);

CREATE TABLE IF NOT EXISTS bot_logs (
	id SERIAL NOT NULL,
	bot_id INTEGER NOT NULL,
	run_id INTEGER,
	level VARCHAR(16) NOT NULL,
	message TEXT NOT NULL,
	fields JSONB DEFAULT '{}' NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL,
	CONSTRAINT pk_bot_logs PRIMARY KEY (id),
	CONSTRAINT ck_bot_logs_level CHECK (level IN ('debug', 'info', 'warning', 'error')),
	CONSTRAINT fk_bot_logs_bot_id_bots FOREIGN KEY(bot_id) REFERENCES bots (id) ON DELETE CASCADE,
	CONSTRAINT fk_bot_logs_run_id_bot_runs FOREIGN KEY(run_id) REFERENCES bot_runs (id) ON DELETE SET NULL
);

CREATE INDEX IF NOT EXISTS ix_bot_logs_bot_id_created_at ON bot_logs (bot_id, created_at);

CREATE TABLE IF NOT EXISTS notification_deliveries (
	id SERIAL NOT NULL,
	outbox_id INTEGER NOT NULL,
	user_id INTEGER,
	channel VARCHAR(16) NOT NULL,
	endpoint_id INTEGER,
	status VARCHAR(10) DEFAULT 'pending' NOT NULL,
	attempts INTEGER DEFAULT 0 NOT NULL,
	next_attempt_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL,
	lease_until TIMESTAMP WITH TIME ZONE,
	last_error VARCHAR(300),
	response_code INTEGER,
	sent_at TIMESTAMP WITH TIME ZONE,
	created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL,
	CONSTRAINT pk_notification_deliveries PRIMARY KEY (id),
	CONSTRAINT fk_notification_deliveries_outbox_id_notification_outbox FOREIGN KEY(outbox_id) REFERENCES notification_outbox (id) ON DELETE CASCADE,
	CONSTRAINT fk_notification_deliveries_user_id_users FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE,
	CONSTRAINT fk_notification_deliveries_endpoint_id_webhook_endpoints FOREIGN KEY(endpoint_id) REFERENCES webhook_endpoints (id) ON DELETE CASCADE
);

CREATE INDEX IF NOT EXISTS ix_notification_deliveries_outbox_id ON notification_deliveries (outbox_id);

CREATE INDEX IF NOT EXISTS ix_notification_deliveries_status_next_attempt_at ON notification_deliveries (status, next_attempt_at);

CREATE TABLE IF NOT EXISTS orders (
	id SERIAL NOT NULL,
	bot_id INTEGER NOT NULL,
	pair_id INTEGER,
	run_id INTEGER,
	client_order_id VARCHAR(36) NOT NULL,
	symbol VARCHAR(32) NOT NULL,
	side VARCHAR(8) NOT NULL,
	action VARCHAR(8) NOT NULL,
	order_side VARCHAR(4) NOT NULL,
	qty NUMERIC(28, 10) NOT NULL,
	price NUMERIC(28, 10),
	reduce_only BOOLEAN DEFAULT false NOT NULL,
	post_only BOOLEAN DEFAULT false NOT NULL,
	reason TEXT DEFAULT '' NOT NULL,
	status VARCHAR(16) NOT NULL,
	exchange_order_id VARCHAR(64) DEFAULT '' NOT NULL,
	filled_qty NUMERIC(28, 10) DEFAULT 0 NOT NULL,
	avg_price NUMERIC(28, 10),
	fee NUMERIC(28, 10) DEFAULT 0 NOT NULL,
	ref_entry_price NUMERIC(28, 10),
	ref_margin NUMERIC(28, 10),
	error TEXT DEFAULT '' NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL,
	updated_at TIMESTAMP WITH TIME ZONE,
	CONSTRAINT pk_orders PRIMARY KEY (id),
	CONSTRAINT ck_orders_side CHECK (side IN ('Long', 'Short')),
	CONSTRAINT ck_orders_order_side CHECK (order_side IN ('Buy', 'Sell')),
	CONSTRAINT ck_orders_action CHECK (action IN ('OPEN', 'ADD', 'REDUCE', 'CLOSE')),
	CONSTRAINT ck_orders_status CHECK (status IN ('pending', 'open', 'filled', 'cancelled', 'rejected', 'unknown')),
	CONSTRAINT ck_orders_qty CHECK (qty > 0),
	CONSTRAINT ck_orders_price CHECK (price IS NULL OR price > 0),
	CONSTRAINT ck_orders_filled_qty CHECK (filled_qty >= 0),
	CONSTRAINT fk_orders_bot_id_bots FOREIGN KEY(bot_id) REFERENCES bots (id) ON DELETE CASCADE,
	CONSTRAINT fk_orders_pair_id_trading_pairs FOREIGN KEY(pair_id) REFERENCES trading_pairs (id) ON DELETE SET NULL,
	CONSTRAINT fk_orders_run_id_bot_runs FOREIGN KEY(run_id) REFERENCES bot_runs (id) ON DELETE SET NULL,
	CONSTRAINT uq_orders_client_order_id UNIQUE (client_order_id)
);

CREATE INDEX IF NOT EXISTS ix_orders_bot_id_status ON orders (bot_id, status);

CREATE INDEX IF NOT EXISTS ix_orders_pair_id_status ON orders (pair_id, status);

CREATE TABLE IF NOT EXISTS notification_attempts (
	id SERIAL NOT NULL,
	delivery_id INTEGER NOT NULL,
	user_id INTEGER,
	channel VARCHAR(16) NOT NULL,
	at TIMESTAMP WITH TIME ZONE NOT NULL,
	ok BOOLEAN DEFAULT false NOT NULL,
	response_code INTEGER,
	latency_ms INTEGER,
	error VARCHAR(300),
	CONSTRAINT pk_notification_attempts PRIMARY KEY (id),
	CONSTRAINT fk_notification_attempts_delivery_id_notification_deliveries FOREIGN KEY(delivery_id) REFERENCES notification_deliveries (id) ON DELETE CASCADE,
	CONSTRAINT fk_notification_attempts_user_id_users FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX IF NOT EXISTS ix_notification_attempts_delivery_id ON notification_attempts (delivery_id);

CREATE INDEX IF NOT EXISTS ix_notification_attempts_user_id_id ON notification_attempts (user_id, id);

CREATE TABLE IF NOT EXISTS trades (
	id SERIAL NOT NULL,
	bot_id INTEGER NOT NULL,
	pair_id INTEGER,
	order_id INTEGER,
	client_order_id VARCHAR(36) NOT NULL,
	time TIMESTAMP WITH TIME ZONE NOT NULL,
	symbol VARCHAR(32) NOT NULL,
	side VARCHAR(8) NOT NULL,
	action VARCHAR(8) NOT NULL,
	qty NUMERIC(28, 10) NOT NULL,
	price NUMERIC(28, 10) NOT NULL,
	fee NUMERIC(28, 10) DEFAULT 0 NOT NULL,
	pnl NUMERIC(28, 10) DEFAULT 0 NOT NULL,
	pnl_percentage NUMERIC(28, 10),
	position_size NUMERIC(28, 10) DEFAULT 0 NOT NULL,
	position_value NUMERIC(28, 10) DEFAULT 0 NOT NULL,
	margin_level NUMERIC(28, 10),
	balance_after NUMERIC(28, 10),
	CONSTRAINT pk_trades PRIMARY KEY (id),
	CONSTRAINT ck_trades_side CHECK (side IN ('Long', 'Short')),
	CONSTRAINT ck_trades_action CHECK (action IN ('OPEN', 'ADD', 'REDUCE', 'CLOSE')),
	CONSTRAINT ck_trades_qty CHECK (qty > 0),
	CONSTRAINT ck_trades_price CHECK (price > 0),
	CONSTRAINT fk_trades_bot_id_bots FOREIGN KEY(bot_id) REFERENCES bots (id) ON DELETE CASCADE,
	CONSTRAINT fk_trades_pair_id_trading_pairs FOREIGN KEY(pair_id) REFERENCES trading_pairs (id) ON DELETE SET NULL,
	CONSTRAINT fk_trades_order_id_orders FOREIGN KEY(order_id) REFERENCES orders (id) ON DELETE SET NULL,
	CONSTRAINT uq_trades_client_order_id UNIQUE (client_order_id)
);

CREATE INDEX IF NOT EXISTS ix_trades_bot_id_time ON trades (bot_id, time);

CREATE INDEX IF NOT EXISTS ix_trades_pair_id_time ON trades (pair_id, time);

CREATE INDEX IF NOT EXISTS ix_trades_time ON trades (time);

CREATE TABLE IF NOT EXISTS alembic_version (
	version_num VARCHAR(32) NOT NULL,
	CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);

INSERT INTO plans (key, name) VALUES
	('free', 'Free'),
	('starter', 'Starter'),
	('pro', 'Pro'),
	('enterprise', 'Enterprise')
ON CONFLICT (key) DO NOTHING;

INSERT INTO alembic_version (version_num) VALUES ('0006_api_tokens_plan_defaults') ON CONFLICT DO NOTHING;

-- A WordPress database converted from a mysqldump by the usual
-- mysql2sqlite script: backquoted names, `int(11) unsigned`, `bigint(20)
-- unsigned NOT NULL DEFAULT '0'` (a quoted default on a number),
-- `tinyint(1)`, `longtext`, `varchar(255) NOT NULL DEFAULT ''`, zero
-- dates as defaults and in rows (drafts' post_date_gmt), KEYs as
-- separate indexes, AUTOINCREMENT ids, utf8mb4 text.
PRAGMA synchronous = OFF;
PRAGMA journal_mode = MEMORY;
BEGIN TRANSACTION;
CREATE TABLE `wp_users` (
  `ID` integer  NOT NULL PRIMARY KEY AUTOINCREMENT
,  `user_login` varchar(60) NOT NULL DEFAULT ''
,  `user_pass` varchar(255) NOT NULL DEFAULT ''
,  `user_email` varchar(100) NOT NULL DEFAULT ''
,  `user_registered` datetime NOT NULL DEFAULT '0000-00-00 00:00:00'
,  `user_status` integer NOT NULL DEFAULT '0'
,  `display_name` varchar(250) NOT NULL DEFAULT ''
);
CREATE TABLE `wp_posts` (
  `ID` integer  NOT NULL PRIMARY KEY AUTOINCREMENT
,  `post_author` integer  NOT NULL DEFAULT '0'
,  `post_date` datetime NOT NULL DEFAULT '0000-00-00 00:00:00'
,  `post_date_gmt` datetime NOT NULL DEFAULT '0000-00-00 00:00:00'
,  `post_content` longtext NOT NULL
,  `post_title` text NOT NULL
,  `post_status` varchar(20) NOT NULL DEFAULT 'publish'
,  `comment_status` varchar(20) NOT NULL DEFAULT 'open'
,  `post_name` varchar(200) NOT NULL DEFAULT ''
,  `post_modified` datetime NOT NULL DEFAULT '0000-00-00 00:00:00'
,  `post_parent` integer  NOT NULL DEFAULT '0'
,  `menu_order` integer NOT NULL DEFAULT '0'
,  `post_type` varchar(20) NOT NULL DEFAULT 'post'
,  `comment_count` integer NOT NULL DEFAULT '0'
);
CREATE TABLE `wp_postmeta` (
  `meta_id` integer  NOT NULL PRIMARY KEY AUTOINCREMENT
,  `post_id` integer  NOT NULL DEFAULT '0'
,  `meta_key` varchar(255) DEFAULT NULL
,  `meta_value` longtext
);
CREATE TABLE `wp_options` (
  `option_id` integer  NOT NULL PRIMARY KEY AUTOINCREMENT
,  `option_name` varchar(191) NOT NULL DEFAULT ''
,  `option_value` longtext NOT NULL
,  `autoload` varchar(20) NOT NULL DEFAULT 'yes'
,  UNIQUE (`option_name`)
);
CREATE TABLE `wp_comments` (
  `comment_ID` integer  NOT NULL PRIMARY KEY AUTOINCREMENT
,  `comment_post_ID` integer  NOT NULL DEFAULT '0'
,  `comment_author` tinytext NOT NULL
,  `comment_date` datetime NOT NULL DEFAULT '0000-00-00 00:00:00'
,  `comment_content` text NOT NULL
,  `comment_approved` varchar(20) NOT NULL DEFAULT '1'
,  `comment_parent` integer  NOT NULL DEFAULT '0'
,  `user_id` integer  NOT NULL DEFAULT '0'
);
CREATE TABLE `wp_term_relationships` (
  `object_id` integer  NOT NULL DEFAULT '0'
,  `term_taxonomy_id` integer  NOT NULL DEFAULT '0'
,  `term_order` integer NOT NULL DEFAULT '0'
,  PRIMARY KEY (`object_id`,`term_taxonomy_id`)
);
INSERT INTO `wp_users` VALUES (1,'admin','$P$BxJ1hash','admin@example.com','2020-01-01 10:00:00',0,'Admin'),(2,'editor','$P$Bother','ed@example.com','0000-00-00 00:00:00',0,'Édith');
INSERT INTO `wp_posts` VALUES (1,1,'2020-01-01 10:00:00','2020-01-01 09:00:00','Welcome to WordPress. This is your first post. 🎉','Hello world!','publish','open','hello-world','2020-01-01 10:00:00',0,0,'post',1),(2,1,'2020-01-01 10:00:00','2020-01-01 09:00:00','<!-- wp:paragraph -->\n<p>Sample page</p>\n<!-- /wp:paragraph -->','Sample Page','publish','closed','sample-page','2020-01-01 10:00:00',0,0,'page',0),(3,2,'2020-02-02 12:00:00','0000-00-00 00:00:00','Draft body','A draft','draft','open','','2020-02-02 12:00:00',0,0,'post',0),(4,1,'2020-02-03 12:00:00','0000-00-00 00:00:00','','Auto Draft','auto-draft','open','','2020-02-03 12:00:00',0,0,'post',0);
INSERT INTO `wp_postmeta` VALUES (1,2,'_wp_page_template','default'),(2,1,'_edit_lock','1580000000:1'),(3,3,NULL,'a:1:{s:3:"foo";s:3:"bar";}');
INSERT INTO `wp_options` VALUES (1,'siteurl','http://example.com','yes'),(2,'home','http://example.com','yes'),(3,'blogname','My “Site”','yes'),(4,'cron','a:0:{}','yes'),(5,'widget_text','','no');
INSERT INTO `wp_comments` VALUES (1,1,'A WordPress Commenter','2020-01-01 10:00:00','Hi, this is a comment.','1',0,0),(2,1,'spammer','2020-01-05 00:00:00','buy now','spam',0,0);
INSERT INTO `wp_term_relationships` VALUES (1,1,0),(3,1,0);
CREATE INDEX "idx_wp_posts_post_name" ON "wp_posts" (`post_name`);
CREATE INDEX "idx_wp_posts_type_status_date" ON "wp_posts" (`post_type`,`post_status`,`post_date`,`ID`);
CREATE INDEX "idx_wp_posts_post_parent" ON "wp_posts" (`post_parent`);
CREATE INDEX "idx_wp_postmeta_post_id" ON "wp_postmeta" (`post_id`);
CREATE INDEX "idx_wp_postmeta_meta_key" ON "wp_postmeta" (`meta_key`);
CREATE INDEX "idx_wp_users_user_login_key" ON "wp_users" (`user_login`);
CREATE INDEX "idx_wp_comments_comment_post_ID" ON "wp_comments" (`comment_post_ID`);
CREATE INDEX "idx_wp_comments_comment_approved_date_gmt" ON "wp_comments" (`comment_approved`,`comment_date`);
END TRANSACTION;
